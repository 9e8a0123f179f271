"""The domain's facts in words, for every adapter (the bot, ``quizbot play``).

The domain (:mod:`bot.quiz`) says *what* happened (a refusal reason, a grader's note, a
board's scope); these functions say it in the reader's language through a
:class:`~bot.i18n.Translator`. Pack content (questions, options, the author's feedback) is
the author's and is never translated, except the true/false labels the format supplies.
"""

from __future__ import annotations

from bot.i18n import Translator
from bot.packs.model import Item, TrueFalseItem
from bot.quiz.boards import Board, NoBoard
from bot.quiz.game import GameRefused
from bot.quiz.grading import Note
from bot.quiz.numbers import format_number
from bot.quiz.service import POINT, Feedback, RefusalReason


def points_number(t: Translator, milli: int) -> str:
    """Thousandths of a point as a number in the reader's notation (2.5, 2,5)."""
    return format_number(round(milli / POINT, 2), t.language)


def points(t: Translator, milli: int) -> str:
    """ "1 point", "5 points", "2.5 points", with the reader's plural rules."""
    if milli % POINT == 0:
        n = milli // POINT
        return t.ngettext("{n} point", "{n} points", n)
    # TRANSLATORS: a fractional score, e.g. "2.5 points" (the form used with fractions).
    return t.gettext("{points} points", points=points_number(t, milli))


def refusal(t: Translator, reason: RefusalReason) -> str:
    """Why a tap or a message changed nothing."""
    texts = {
        "closed": t.gettext("This question is closed."),
        "ended": t.gettext("This quiz has ended."),
        "moved_on": t.gettext("You have already moved on."),
        "not_yours": t.gettext("This quiz belongs to someone else."),
        "already": t.gettext("You have already answered this question."),
        "invalid": t.gettext("This button is not valid any more."),
        "nothing_selected": t.gettext("Select at least one option, then Submit."),
        "no_run": t.gettext("No quiz is running."),
    }
    return texts[reason]


def note(t: Translator, note: Note) -> str:
    """The grader's remark: a spelling note, the number as read, how to answer."""
    if note.kind == "check_spelling":
        stop = "" if note.text.endswith((".", "!", "?")) else "."
        return t.gettext("Check the spelling: {answer}", answer=note.text) + stop
    if note.kind == "you_answered":
        return t.gettext("You answered {number}.", number=note.text)
    if note.kind == "option_range":
        return t.gettext("Answer with an option number from 1 to {count}.", count=note.count)
    if note.kind == "tap_or_type":
        return t.gettext(
            "Tap a button, or type an option number from 1 to {count}.", count=note.count
        )
    texts = {
        "type_words": t.gettext("Type your answer in words."),
        "close_spelling": t.gettext("Close, but check the spelling."),
        "no_number": t.gettext("Please answer with a number, e.g. 11000."),
        "two_numbers": t.gettext("Please give one number."),
        "answer_please": t.gettext("Please answer the question."),
    }
    return texts[note.kind]


def remarks(t: Translator, feedback: Feedback) -> list[str]:
    """What to say beyond right or wrong: the author's feedback, then the grader's note."""
    grade = feedback.grade
    lines = [grade.feedback] if grade.feedback else []
    if grade.note is not None:
        lines.append(note(t, grade.note))
    return lines


def option_label(t: Translator, item: Item, text: str) -> str:
    """An option as shown: the author's text, or "True"/"False" in the reader's language."""
    if isinstance(item, TrueFalseItem):
        return t.gettext("True") if text == item.option_texts[0] else t.gettext("False")
    return text


def correct_answer(t: Translator, feedback: Feedback) -> str:
    """The correct answer as shown (true/false in the reader's language)."""
    item = feedback.question.item
    if isinstance(item, TrueFalseItem):
        return t.gettext("True") if item.answer else t.gettext("False")
    return feedback.correct_answer


def game_refusal(t: Translator, refused: GameRefused) -> str:
    """Why a game could not open, start or be joined."""
    if refused.reason == "no_pack":
        return no_pack(t, refused.slug)
    texts = {
        "running": t.gettext("A game is already on in this chat; /stop ends it."),
        "playing": t.gettext("The game is on: just answer the questions to play!"),
        "lobby_closed": t.gettext("This lobby is closed."),
        "already_in": t.gettext("You are already in."),
        "started": t.gettext("This game has already started or ended."),
        "empty": t.gettext("This quiz has no questions."),
    }
    return texts[refused.reason]


def no_pack(t: Translator, slug: str) -> str:
    return t.gettext("There is no quiz called '{slug}'. See /packs.", slug=slug[:64])


def no_board(t: Translator, refused: NoBoard) -> str:
    if refused.reason == "no_pack":
        return no_pack(t, refused.slug)
    return t.gettext("Usage: /leaderboard [week|all] [pack]")


def board_title(t: Translator, board: Board) -> str:
    """ "This chat · Pack title · all time"."""
    parts = [t.gettext("This chat") if board.in_chat else t.gettext("Everyone")]
    if board.pack_title:
        parts.append(board.pack_title)
    parts.append(t.gettext("last 7 days") if board.period == "week" else t.gettext("all time"))
    return " · ".join(parts)
