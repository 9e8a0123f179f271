"""``quizbot play``: the quiz in a terminal, on the same engine and store as the bot.

It reads answers line by line, so it works with a keyboard or with piped input, and ends with
the score and the leaderboard. It speaks the terminal's language (``LANG``, or ``--lang``).
"""

from __future__ import annotations

import asyncio
import sys
import textwrap
from typing import TextIO

from bot import phrases
from bot.i18n import DEFAULT_LANGUAGE, Translator, translator
from bot.packs.model import NumberItem, TrueFalseItem
from bot.quiz.boards import BoardQuery, Boards, NoBoard
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


def question_text(t: Translator, question: Question) -> str:
    item = question.item
    lines = [
        "",
        t.gettext("Question {number} of {total}", number=question.number, total=question.total)
        + f"  [{item.skill}, {item.difficulty}]",
        item.question,
    ]
    if isinstance(item, TrueFalseItem):
        lines.append(t.gettext("True or false? (t/f)"))
    elif question.typed:
        if isinstance(item, NumberItem):
            if item.unit:
                lines.append(t.gettext("Type a number (in {unit}).", unit=item.unit))
            else:
                lines.append(t.gettext("Type a number."))
        else:
            lines.append(t.gettext("Type your answer."))
    else:
        if question.multiple:
            lines.append(t.gettext("Several answers: type their numbers, e.g. 1,3"))
        lines += [f"  {n}) {text}" for n, text in enumerate(question.shown_options, start=1)]
    return "\n".join(lines)


def feedback_text(t: Translator, outcome: Answered) -> str:
    feedback = outcome.feedback
    grade = feedback.grade
    if feedback.skipped:
        verdict = t.gettext("Skipped.")
    elif grade.correct:
        verdict = t.gettext("Correct!")
    elif grade.score > 0:
        score = phrases.points(t, round(grade.score * POINT))
        verdict = t.gettext("Partly right ({points}).", points=score)
    else:
        verdict = t.gettext("Not quite.")
    lines = [verdict]
    if not grade.correct or feedback.question.typed:
        lines.append(t.gettext("Answer: {answer}", answer=phrases.correct_answer(t, feedback)))
    lines += phrases.remarks(t, feedback)
    item = feedback.question.item
    lines.append(t.gettext("Why: {explanation}", explanation=item.explanation))
    lines += [t.gettext("Article: {quote}", quote=quoted(source)) for source in item.sources]
    return "\n".join(lines)


def summary_text(t: Translator, summary: RunSummary) -> str:
    if summary.status == "finished":
        head = t.gettext("Finished: {title}", title=summary.pack.title)
    else:
        head = t.gettext("Stopped: {title}", title=summary.pack.title)
    accuracy, seconds = f"{summary.accuracy:.0%}", f"{summary.seconds:.0f}"
    lines = [
        "",
        head,
        t.gettext(
            "Score: {points} of {total}.",
            points=phrases.points(t, summary.score),
            total=summary.total,
        ),
        t.ngettext(
            "Accuracy {accuracy}: {correct} right of {n} answered, in {seconds} s.",
            "Accuracy {accuracy}: {correct} right of {n} answered, in {seconds} s.",
            summary.answered,
            accuracy=accuracy,
            correct=summary.correct,
            seconds=seconds,
        ),
    ]
    if summary.rank is not None:
        lines.append(
            t.gettext(
                "Rank on this quiz: #{rank} of {players}",
                rank=summary.rank,
                players=summary.players_on_pack,
            )
        )
    return "\n".join(lines)


async def play(
    quiz: QuizService,
    boards: Boards,
    name: str,
    slug: str | None,
    terminal: Terminal,
    language: str = DEFAULT_LANGUAGE,
) -> int:
    """Play one run in the terminal, speaking ``language``; returns the exit status."""
    t = translator(language)
    player = Player(telegram_id=None, name=name)
    packs = await quiz.in_transaction(None, quiz.visible_packs, commit=False)
    if not packs:
        terminal.say(
            t.gettext("No quizzes are published: add a pack to content/ (see docs/pack-format.md).")
        )
        return 1
    if slug is None:
        if len(packs) == 1:
            slug = packs[0].slug
        else:
            terminal.say(t.gettext("Quizzes:"))
            for n, pack in enumerate(packs, start=1):
                terminal.say(f"  {n}) {pack.title} [{pack.slug}, {pack.language}]")
            choice = await terminal.ask(t.gettext("Which one? "))
            if choice is None:
                return 1
            chosen = next((p for n, p in enumerate(packs, 1) if choice in (str(n), p.slug)), None)
            if chosen is None:
                terminal.say(t.gettext("No quiz '{choice}'.", choice=choice))
                return 1
            slug = chosen.slug
    question = await quiz.start_run(player, slug, chat_id=None, kind="terminal")
    if question is None:
        terminal.say(
            t.gettext("There is no quiz called '{slug}'. Try: quizbot pack list", slug=slug)
        )
        return 1
    terminal.say(
        t.ngettext(
            "{title}: {n} question. Type 'skip' to skip a question, 'quit' to stop.",
            "{title}: {n} questions. Type 'skip' to skip a question, 'quit' to stop.",
            question.total,
            title=question.pack.title,
        )
    )
    summary: RunSummary | None = None
    while summary is None:
        terminal.say(question_text(t, question))
        line = await terminal.ask()
        if line is None or line.lower() in ("quit", "exit", "stop", ":q"):
            summary = await quiz.stop(player, question.run_id)
            break
        if line.lower() == "skip":
            outcome = await quiz.skip(player, question.run_id)
        else:
            outcome = await quiz.answer_text(player, line, question.run_id, kind="terminal")
        if isinstance(outcome, Unreadable):
            terminal.say(phrases.note(t, outcome.hint))
            continue
        if isinstance(outcome, Refused):
            terminal.say(phrases.refusal(t, outcome.reason))
            return 1
        terminal.say(feedback_text(t, outcome))
        if outcome.finished is not None:
            summary = outcome.finished
            break
        following = await quiz.next_question(player, question.run_id, question.number)
        if isinstance(following, Refused):
            terminal.say(phrases.refusal(t, following.reason))
            return 1
        question = following.question
    if summary is not None:
        terminal.say(summary_text(t, summary))
    await show_leaderboard(t, quiz, boards, player, terminal)
    return 0


async def show_leaderboard(
    t: Translator, quiz: QuizService, boards: Boards, player: Player, terminal: Terminal
) -> None:
    viewer = await quiz.register(player)
    board = await boards.board(viewer, None, BoardQuery("all", None))
    if isinstance(board, NoBoard):
        return
    terminal.say("")
    terminal.say(t.gettext("Leaderboard ({title})", title=phrases.board_title(t, board)))
    for standing in board.top:
        mine = standing.user_id == viewer
        name = standing.name if not standing.hidden or mine else t.gettext("anonymous")
        you = t.gettext(" (you)") if mine else ""
        terminal.say(f"  {standing.rank:>3}. {name}{you}: {phrases.points(t, standing.points)}")
    if board.mine is not None and all(s.user_id != viewer for s in board.top):
        you = t.gettext(" (you)")
        terminal.say(
            f"  ...\n  {board.mine.rank:>3}. {board.mine.name}{you}: "
            f"{phrases.points(t, board.mine.points)}"
        )


def stdio() -> Terminal:
    return Terminal(sys.stdin, sys.stdout)
