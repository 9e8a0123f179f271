"""Turn engine results into Telegram message texts (HTML) and keyboards."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit

from bot import phrases
from bot.i18n import translator
from bot.packs.model import NumberItem, ShortItem, TrueFalseItem
from bot.quiz.catalog import CachedPack
from bot.quiz.service import POINT, Feedback, Question, RunSummary
from bot.store.repo import PackStats, Standing
from bot.telegram import callbacks
from bot.text import quoted, shorten

SHORT_OPTION = 28
"""Options up to this length go on their own buttons; longer ones are numbered in the text."""

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def points(milli: int) -> str:
    """1000 -> '1', 2500 -> '2.5'."""
    value = milli / POINT
    return f"{value:.2f}".rstrip("0").rstrip(".")


def duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def keyboard(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


def chunk(buttons: list[tuple[str, str]], per_row: int) -> list[list[tuple[str, str]]]:
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


ECHO = 300
"""At most this many characters (escaped) of a player's typed answer are echoed back."""

# A tag, an entity, a run of plain text, or a stray "<" or "&" (never produced by esc()).
_HTML_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)[^<>]*>|&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);|[^<&]+|[<&]"
)


def fit(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH, ellipsis: str = "…") -> str:
    """Keep an HTML message under Telegram's limit and well-formed: the cut never splits a
    tag or an entity, and every tag still open at the cut is closed. Messages are built to
    fit (echoes and names are shortened before they are escaped), so this is the last guard.

    Written here rather than taken from a library: the HTML Telegram accepts is a handful of
    tags, and a cut must count the closing tags it adds against the limit."""
    if len(text) <= limit:
        return text
    out: list[str] = []
    open_tags: list[str] = []
    used = 0
    for match in _HTML_TOKEN.finditer(text):
        token = match.group()
        closing = sum(len(name) + 3 for name in open_tags)
        room = limit - used - closing - len(ellipsis)
        name = match.group(2)
        if name is not None and match.group(1):  # a closing tag: it was paid for
            if open_tags and open_tags[-1] == name.lower():
                open_tags.pop()
                out.append(token)
                used += len(token)
            continue
        if name is not None:
            if len(token) + len(name) + 3 > room:
                break
            open_tags.append(name.lower())
        elif len(token) > room:
            if not token.startswith("&"):  # plain text can be cut (an entity cannot)
                out.append(token[: max(0, room)].rstrip())
            break
        out.append(token)
        used += len(token)
    out.append(ellipsis)
    out += [f"</{name}>" for name in reversed(open_tags)]
    return "".join(out)


# --------------------------------------------------------------------------- packs


def no_such_pack(slug: str) -> str:
    return f"There is no quiz called <b>{esc(shorten(slug, 64))}</b>. See /packs."


def pack_buttons(packs: Sequence[CachedPack], action: str = "pk") -> InlineKeyboardMarkup:
    make = {
        "pk": callbacks.pack,
        "pks": callbacks.pack_with_speed,
        "rd": callbacks.read,
        "lb": callbacks.leaderboard,
    }[action]
    return keyboard([[(shorten(p.title, 60), make(p.slug))] for p in packs])


def pack_list(packs: Sequence[CachedPack]) -> str:
    if not packs:
        return "No quizzes are published yet."
    lines = ["<b>Quizzes</b>"]
    for pack in packs:
        lines.append(
            f"• <b>{esc(pack.title)}</b> ({len(pack.items)} questions) — /quiz {pack.slug}"
        )
    return fit("\n".join(lines))


# --------------------------------------------------------------------------- questions


def _header(question: Question) -> str:
    label = "Review" if question.mode == "review" else "Question"
    return f"<b>{esc(question.pack.title)}</b>\n{label} {question.number} of {question.total}"


def _numbered(question: Question) -> bool:
    return question.multiple or any(len(t) > SHORT_OPTION for t in question.shown_options)


def question_text(question: Question) -> str:
    lines = [_header(question), "", f"<b>{esc(question.item.question)}</b>"]
    item = question.item
    if isinstance(item, TrueFalseItem):
        lines.append("<i>True or false?</i>")
    elif question.typed:
        if isinstance(item, NumberItem):
            unit = f" (in {esc(item.unit)})" if item.unit else ""
            lines += ["", f"✍️ Type a number{unit}."]
        else:
            lines += ["", "✍️ Type your answer."]
    else:
        if question.multiple:
            lines.append("<i>Select all that apply, then Submit.</i>")
        if _numbered(question):
            lines.append("")
            for n, text in enumerate(question.shown_options):
                mark = ""
                if question.multiple:
                    mark = "☑ " if question.order[n] in question.selected else "☐ "
                lines.append(f"{mark}<b>{LETTERS[n]}.</b> {esc(text)}")
    return fit("\n".join(lines))


def question_keyboard(question: Question) -> InlineKeyboardMarkup:
    run, item = question.run_id, question.item_id
    if question.typed:
        return keyboard([[("Skip ⏭", callbacks.skip(run, item))]])
    numbered = _numbered(question)
    buttons = []
    for n, (index, text) in enumerate(zip(question.order, question.shown_options, strict=True)):
        label = LETTERS[n] if numbered else text
        if question.multiple:
            box = "☑" if index in question.selected else "☐"
            buttons.append((f"{box} {label}", callbacks.toggle(run, item, index)))
        else:
            buttons.append((label, callbacks.answer(run, item, index)))
    rows = chunk(buttons, 4) if numbered else chunk(buttons, 1 if len(buttons) > 2 else 2)
    if question.multiple:
        rows.append([("Submit ✔", callbacks.submit(run, item))])
    return keyboard(rows)


def choice_hint(question: Question) -> str:
    """What to do when a typed reply names no option."""
    if _numbered(question):  # the options are lettered on screen
        last = LETTERS[len(question.order) - 1]
        return f"Tap a button, or type the letter of an option (A to {last})."
    return "Tap a button, or type an option as it reads on its button."


def switch_text(current: Question, new_title: str) -> str:
    """The offer made when a player starts a run in the middle of another one."""
    where = f"{'review' if current.mode == 'review' else 'question'} {current.number}"
    return (
        f"You are in the middle of <b>{esc(current.pack.title)}</b> ({where} of "
        f"{current.total}). Start <b>{esc(new_title)}</b> instead? Your run is kept either "
        "way: /quiz, or ↩ here, brings you back to it."
    )


# --------------------------------------------------------------------------- feedback


def verdict(feedback: Feedback) -> str:
    grade = feedback.grade
    if feedback.skipped:
        return "⏭ <b>Skipped.</b>"
    if grade.correct:
        return "✅ <b>Correct!</b>"
    if grade.score > 0:
        return f"🟡 <b>Partly right</b> ({points(round(grade.score * POINT))} point)"
    return "❌ <b>Not quite.</b>"


def quote_lines(sources: Sequence[str]) -> list[str]:
    """The article's own words, in quotation marks (once: a quote of a speech has its own)."""
    return [f"📖 <i>{esc(quoted(source))}</i>" for source in sources]


def feedback_text(feedback: Feedback, with_question: bool = True) -> str:
    """The verdict, the player's answer, the correct answer, the explanation and the quote.
    The explanation and the quote always fit: when the message would be too long, the echo of
    the player's answer gives way first, then the question above it."""
    question = feedback.question
    item = question.item

    def body(echoed: str) -> str:
        lines = [verdict(feedback)]
        if not feedback.skipped:
            lines.append(f"Your answer: {echoed or '—'}")
        if not feedback.grade.correct or isinstance(item, ShortItem | NumberItem):
            lines.append(f"Answer: <b>{esc(feedback.correct_answer)}</b>")
        lines += [esc(remark) for remark in phrases.remarks(translator("en"), feedback)]
        lines += ["", f"💡 {esc(item.explanation)}", *quote_lines(item.sources)]
        return "\n".join(lines)

    limit = MessageLimit.MAX_TEXT_LENGTH
    header = f"{_header(question)}\n\n<b></b>\n\n" if with_question else ""
    least_question = min(len(esc(item.question)), 200) if with_question else 0
    room = limit - len(body("")) - len(header) - least_question
    tail = body(esc_within(" ".join(feedback.response.split()), max(min(ECHO, room), 20)))
    if not with_question:
        return fit(tail)
    room = limit - len(header) - len(tail)
    return fit(f"{_header(question)}\n\n<b>{esc_within(item.question, room)}</b>\n\n{tail}")


def esc_within(text: str, budget: int) -> str:
    """``text`` shortened so that, escaped, it takes at most ``budget`` characters."""
    cut = budget
    while True:
        out = esc(shorten(text, max(cut, 0)))
        if len(out) <= budget or cut <= 0:
            return out
        cut -= len(out) - budget


def next_keyboard(question: Question) -> InlineKeyboardMarkup:
    return keyboard([[("Next ▶", callbacks.next_(question.run_id, question.number))]])


# --------------------------------------------------------------------------- end of a run


def summary_text(summary: RunSummary) -> str:
    title = esc(summary.pack.title)
    heading = "finished" if summary.status == "finished" else "stopped"
    kind = "Review" if summary.mode == "review" else "Quiz"
    lines = [
        f"🏁 <b>{kind} {heading}: {title}</b>",
        "",
        f"Score: <b>{points(summary.score)}</b> of {summary.total}",
        f"Accuracy: {summary.accuracy:.0%} ({summary.correct} of {summary.answered} answered)",
        f"Time: {duration(summary.seconds)}",
    ]
    if summary.rank is not None:
        of = f" of {summary.players_on_pack}" if summary.players_on_pack else ""
        lines.append(f"Rank on this quiz: <b>#{summary.rank}</b>{of}")
    if summary.mode == "review":
        lines.append("<i>Review runs are practice: they do not change the leaderboard.</i>")
    return fit("\n".join(lines))


def summary_keyboard(summary: RunSummary) -> InlineKeyboardMarkup:
    rows: list[list[tuple[str, str]]] = []
    if summary.missed_item_ids:
        rows.append([("🔁 Review my mistakes", callbacks.review(summary.run_id))])
    rows.append(
        [
            ("↻ Try again", callbacks.restart(summary.pack.slug)),
            ("🏆 Leaderboard", callbacks.leaderboard(summary.pack.slug)),
        ]
    )
    return keyboard(rows)


# --------------------------------------------------------------------------- scores


def display_name(standing: Standing, viewer_id: int | None) -> str:
    if standing.user_id == viewer_id:
        return f"<b>{esc(standing.name)}</b> (you)"
    if standing.hidden:
        return "<i>anonymous</i>"
    return esc(standing.name)


def leaderboard_text(
    title: str,
    top: Sequence[Standing],
    mine: Standing | None,
    viewer_id: int | None,
    asked_by_player: bool | None = None,
) -> str:
    """``asked_by_player`` (default: a viewer is known) adds the line that the asker is not
    on the board when they are not."""
    if asked_by_player is None:
        asked_by_player = viewer_id is not None
    lines = [f"🏆 <b>{esc(title)}</b>"]
    if not top:
        lines.append("No answers yet: be the first! /quiz")
        return "\n".join(lines)
    medals = {1: "🥇", 2: "🥈", 3: "🥉"}
    for s in top:
        place = medals.get(s.rank, f"{s.rank}.")
        lines.append(
            f"{place} {display_name(s, viewer_id)} — {points(s.points)} pts "
            f"({s.correct}/{s.answered}, {duration(s.seconds_ms / 1000)})"
        )
    if mine is not None and all(s.user_id != mine.user_id for s in top):
        lines += ["…", f"{mine.rank}. {display_name(mine, viewer_id)} — {points(mine.points)} pts"]
    elif mine is None and asked_by_player:
        lines += ["", "You are not on this board yet."]
    return fit("\n".join(lines))


def score_text(stats: Sequence[PackStats]) -> str:
    if not stats:
        return "You have not answered any question yet. Send /quiz to start."
    lines = ["📊 <b>Your scores</b>"]
    for s in stats:
        best = (
            f"{points(s.best_run)} of {s.best_run_items}"
            if s.best_run is not None and s.best_run_items
            else "no finished run yet"
        )
        streak = f", streak {s.streak_days} day{'s' if s.streak_days != 1 else ''}"
        lines += [
            "",
            f"<b>{esc(s.title)}</b>",
            f"Answered {s.responded}, skipped {s.skipped}, correct {s.correct}"
            + (f" ({s.correct / s.responded:.0%} of answered)" if s.responded else ""),
            f"Best run: {best}{streak if s.streak_days else ''}",
        ]
    return fit("\n".join(lines))


def article_parts(title: str, article: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """The article as messages under ``limit`` characters, split between paragraphs (and only
    inside a paragraph, between sentences or words, when one paragraph alone is too long).
    Paragraphs are cut before they are escaped, so a cut never splits an entity."""
    paragraphs = [p.strip() for p in article.replace("\r\n", "\n").split("\n\n") if p.strip()]
    heading = f"📰 <b>{esc(shorten(title, 256))}</b>\n\n"
    budget = limit - len(heading)
    pieces: list[str] = []
    for paragraph in paragraphs:
        rest = paragraph
        while len(esc(rest)) > budget:
            fits = budget  # the longest prefix that fits once escaped (escaping only grows)
            while len(esc(rest[:fits])) > budget:
                fits -= len(esc(rest[:fits])) - budget
            cut = rest.rfind(". ", 0, fits)
            if cut <= 0:
                cut = rest.rfind(" ", 0, fits)
            if cut <= 0:
                cut = fits - 1
            pieces.append(esc(rest[: cut + 1].strip()))
            rest = rest[cut + 1 :].strip()
        pieces.append(esc(rest))
    parts: list[str] = []
    current = heading
    for piece in pieces:
        addition = piece if current in ("", heading) else "\n\n" + piece
        if len(current) + len(addition) > limit:
            parts.append(current)
            current = piece
        else:
            current += addition
    if current.strip():
        parts.append(current)
    return parts
