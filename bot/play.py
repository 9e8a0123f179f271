"""``quizbot play``: the quiz in a terminal, on the same engine and store as the bot.

It reads answers line by line, so it works with a keyboard or with piped input, and ends with
the score and the leaderboard.
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from typing import TextIO

from bot.packs.model import NumberItem, TrueFalseItem
from bot.quiz.boards import BoardQuery, Boards
from bot.quiz.service import (
    POINT,
    Answered,
    Player,
    Question,
    QuizService,
    Refused,
    RunSummary,
    Unreadable,
)
from bot.text import quoted

WIDTH = 78


def _points(milli: int) -> str:
    return f"{milli / POINT:.2f}".rstrip("0").rstrip(".")


class Terminal:
    """Plain-text rendering and line input."""

    def __init__(self, stdin: TextIO, stdout: TextIO) -> None:
        self.stdin = stdin
        self.stdout = stdout

    def say(self, text: str = "") -> None:
        for line in text.split("\n"):
            wrapped = textwrap.wrap(line, WIDTH, subsequent_indent="   ") or [""]
            for part in wrapped:
                print(part, file=self.stdout)
        self.stdout.flush()

    async def ask(self, prompt: str = "> ") -> str | None:
        """One line of input, or None at the end of input."""
        self.stdout.write(prompt)
        self.stdout.flush()
        line = await asyncio.to_thread(self.stdin.readline)
        if not line:
            self.say()
            return None
        if not self.stdin.isatty():
            self.say(line.rstrip("\n"))  # echo piped answers so the transcript reads well
        return line.strip()


def question_text(question: Question) -> str:
    item = question.item
    lines = [
        "",
        f"Question {question.number} of {question.total}  [{item.skill}, {item.difficulty}]",
        item.question,
    ]
    if isinstance(item, TrueFalseItem):
        lines.append("True or false? (t/f)")
    elif question.typed:
        if isinstance(item, NumberItem):
            unit = f" (in {item.unit})" if item.unit else ""
            lines.append(f"Type a number{unit}.")
        else:
            lines.append("Type your answer.")
    else:
        if question.multiple:
            lines.append("Several answers: type their numbers, e.g. 1,3")
        lines += [f"  {n}) {text}" for n, text in enumerate(question.shown_options, start=1)]
    return "\n".join(lines)


def feedback_text(outcome: Answered) -> str:
    feedback = outcome.feedback
    grade = feedback.grade
    if feedback.skipped:
        verdict = "Skipped."
    elif grade.correct:
        verdict = "Correct!"
    elif grade.score > 0:
        verdict = f"Partly right ({_points(round(grade.score * POINT))} point)."
    else:
        verdict = "Not quite."
    lines = [verdict]
    if not grade.correct or feedback.question.typed:
        lines.append(f"Answer: {feedback.correct_answer}")
    if grade.feedback:
        lines.append(grade.feedback)
    item = feedback.question.item
    lines.append(f"Why: {item.explanation}")
    lines += [f"Article: {quoted(source)}" for source in item.sources]
    return "\n".join(lines)


def summary_text(summary: RunSummary) -> str:
    lines = [
        "",
        f"{'Finished' if summary.status == 'finished' else 'Stopped'}: {summary.pack.title}",
        f"Score {_points(summary.score)} of {summary.total}, accuracy {summary.accuracy:.0%} "
        f"({summary.correct} of {summary.answered} answered), "
        f"{summary.seconds:.0f} s",
    ]
    if summary.rank is not None:
        lines.append(f"Rank on this quiz: #{summary.rank} of {summary.players_on_pack}")
    return "\n".join(lines)


async def play(
    quiz: QuizService,
    boards: Boards,
    name: str,
    slug: str | None,
    terminal: Terminal,
) -> int:
    """Play one run in the terminal; returns the exit status."""
    player = Player(telegram_id=None, name=name)
    async with quiz.sessionmaker() as session:
        packs = await quiz.visible_packs(session)
    if not packs:
        terminal.say("No quizzes are published: add a pack to content/ (see docs/pack-format.md).")
        return 1
    if slug is None:
        if len(packs) == 1:
            slug = packs[0].slug
        else:
            terminal.say("Quizzes:")
            for n, pack in enumerate(packs, start=1):
                terminal.say(f"  {n}) {pack.title} [{pack.slug}]")
            choice = await terminal.ask("Which one? ")
            if choice is None:
                return 1
            chosen = next((p for n, p in enumerate(packs, 1) if choice in (str(n), p.slug)), None)
            if chosen is None:
                terminal.say(f"No quiz {choice!r}.")
                return 1
            slug = chosen.slug
    question = await quiz.start_run(player, slug, chat_id=None, kind="terminal")
    if question is None:
        terminal.say(f"There is no quiz called {slug!r}. Try: quizbot pack list")
        return 1
    terminal.say(
        f"{question.pack.title}: {question.total} questions. "
        "Type 'skip' to skip a question, 'quit' to stop."
    )
    summary: RunSummary | None = None
    while summary is None:
        terminal.say(question_text(question))
        line = await terminal.ask()
        if line is None or line.lower() in ("quit", "exit", "stop", ":q"):
            summary = await quiz.stop(player, question.run_id)
            break
        if line.lower() == "skip":
            outcome = await quiz.skip(player, question.run_id)
        else:
            outcome = await quiz.answer_text(player, line, question.run_id, kind="terminal")
        if isinstance(outcome, Unreadable):
            terminal.say(outcome.hint)
            continue
        if isinstance(outcome, Refused):
            terminal.say(outcome.message)
            return 1
        terminal.say(feedback_text(outcome))
        if outcome.finished is not None:
            summary = outcome.finished
            break
        following = await quiz.next_question(player, question.run_id, question.number)
        if isinstance(following, Refused):
            terminal.say(following.message)
            return 1
        question = following
    if summary is not None:
        terminal.say(summary_text(summary))
    await show_leaderboard(quiz, boards, player, terminal)
    return 0


async def show_leaderboard(
    quiz: QuizService, boards: Boards, player: Player, terminal: Terminal
) -> None:
    async with quiz.sessionmaker() as session, session.begin():
        viewer = await quiz.user_id(session, player)
    board = await boards.board(viewer, None, BoardQuery("all", None))
    if isinstance(board, str):
        return
    terminal.say("")
    terminal.say(f"Leaderboard ({board.title})")
    for standing in board.top:
        name = standing.name if not standing.hidden or standing.user_id == viewer else "anonymous"
        you = " (you)" if standing.user_id == viewer else ""
        terminal.say(f"  {standing.rank:>3}. {name}{you}: {_points(standing.points)} pts")
    if board.mine is not None and all(s.user_id != viewer for s in board.top):
        terminal.say(
            f"  ...\n  {board.mine.rank:>3}. {board.mine.name} (you): "
            f"{_points(board.mine.points)} pts"
        )


def stdio() -> Terminal:
    return Terminal(sys.stdin, sys.stdout)
