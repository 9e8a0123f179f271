"""Turn engine results into Telegram message texts (HTML) and keyboards."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from babel import Locale, UnknownLocaleError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import MessageLimit

from bot import phrases
from bot.i18n import N_, Translator
from bot.packs.model import NumberItem, ShortItem, TrueFalseItem
from bot.quiz.catalog import CachedPack
from bot.quiz.grading import option_letters
from bot.quiz.habits import Leech, Scores, Streak, full_quote
from bot.quiz.service import POINT, Feedback, Question, RunSummary, correct_answer_text
from bot.store.repo import Standing
from bot.telegram import callbacks
from bot.text import quoted, shorten

SHORT_OPTION = 28
"""Options up to this length go on their own buttons; longer ones are numbered in the text."""


def letters(t: Translator) -> str:
    """The letters that label options for this reader (А, Б, В… in Ukrainian and Russian)."""
    return option_letters(t.language)


def esc(text: str) -> str:
    return html.escape(text, quote=False)


def points(t: Translator, milli: int) -> str:
    """1000 -> '1', 2500 -> '2.5' (or '2,5': the reader's notation)."""
    return phrases.points_number(t, milli)


def duration(t: Translator, seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return t.gettext("{seconds} s", seconds=seconds)
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return t.gettext("{minutes} min {seconds} s", minutes=minutes, seconds=rest)
    hours, minutes = divmod(minutes, 60)
    return t.gettext("{hours} h {minutes} min", hours=hours, minutes=minutes)


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


def no_such_pack(t: Translator, slug: str) -> str:
    return t.gettext(
        "There is no quiz called <b>{slug}</b>. See /packs.", slug=esc(shorten(slug, 64))
    )


def pack_buttons(packs: Sequence[CachedPack], action: str = "pk") -> InlineKeyboardMarkup:
    make = {
        "pk": callbacks.pack,
        "pks": callbacks.pack_with_speed,
        "rd": callbacks.read,
        "lb": callbacks.leaderboard,
    }[action]
    return keyboard([[(shorten(p.title, 60), make(p.slug))] for p in packs])


def pack_list(t: Translator, packs: Sequence[CachedPack]) -> str:
    """Each pack with its size and language (the language of its questions and articles)."""
    if not packs:
        return t.gettext("No quizzes are published yet.")
    lines = [t.gettext("<b>Quizzes</b>")]
    for pack in packs:
        size = t.ngettext("{n} question", "{n} questions", len(pack.items))
        language = language_name(pack.language)
        lines.append(f"• <b>{esc(pack.title)}</b> ({size}, {esc(language)}) — /quiz {pack.slug}")
    return fit("\n".join(lines))


def language_name(code: str) -> str:
    """A pack language by its own name (``uk`` → "українська"), else the code itself."""
    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name()
    except (ValueError, UnknownLocaleError):
        return code
    return name or code


# --------------------------------------------------------------------------- questions


def _header(t: Translator, question: Question) -> str:
    numbers = {"number": question.number, "total": question.total}
    if question.mode == "review":
        label = t.gettext("Review {number} of {total}", **numbers)
    else:
        label = t.gettext("Question {number} of {total}", **numbers)
    return f"<b>{esc(question.pack.title)}</b>\n{label}"


def shown_options(t: Translator, question: Question) -> list[str]:
    """The options in the run's order, as the reader sees them (true/false translated)."""
    return [phrases.option_label(t, question.item, text) for text in question.shown_options]


def _numbered(question: Question) -> bool:
    return question.multiple or any(len(t) > SHORT_OPTION for t in question.shown_options)


def question_text(t: Translator, question: Question) -> str:
    lines = [_header(t, question), "", f"<b>{esc(question.item.question)}</b>"]
    item = question.item
    if isinstance(item, TrueFalseItem):
        lines.append(t.gettext("<i>True or false?</i>"))
    elif question.typed:
        if isinstance(item, NumberItem):
            if item.unit:
                typing = t.gettext("✍️ Type a number (in {unit}).", unit=esc(item.unit))
            else:
                typing = t.gettext("✍️ Type a number.")
            lines += ["", typing]
        else:
            lines += ["", t.gettext("✍️ Type your answer.")]
    else:
        if question.multiple:
            lines.append(t.gettext("<i>Select all that apply, then Submit.</i>"))
        if _numbered(question):
            lines.append("")
            for n, text in enumerate(shown_options(t, question)):
                mark = ""
                if question.multiple:
                    mark = "☑ " if question.order[n] in question.selected else "☐ "
                lines.append(f"{mark}<b>{letters(t)[n]}.</b> {esc(text)}")
    return fit("\n".join(lines))


def question_keyboard(t: Translator, question: Question) -> InlineKeyboardMarkup:
    run, item = question.run_id, question.item_id
    if question.typed:
        return keyboard([[(t.gettext("Skip ⏭"), callbacks.skip(run, item))]])
    numbered = _numbered(question)
    buttons = []
    shown = shown_options(t, question)
    for n, (index, text) in enumerate(zip(question.order, shown, strict=True)):
        label = letters(t)[n] if numbered else text
        if question.multiple:
            box = "☑" if index in question.selected else "☐"
            buttons.append((f"{box} {label}", callbacks.toggle(run, item, index)))
        else:
            buttons.append((label, callbacks.answer(run, item, index)))
    rows = chunk(buttons, 4) if numbered else chunk(buttons, 1 if len(buttons) > 2 else 2)
    if question.multiple:
        rows.append([(t.gettext("Submit ✔"), callbacks.submit(run, item))])
    return keyboard(rows)


def choice_hint(t: Translator, question: Question) -> str:
    """What to do when a typed reply names no option."""
    if _numbered(question):  # the options are lettered on screen
        shown = letters(t)
        return t.gettext(
            "Tap a button, or type the letter of an option ({first} to {last}).",
            first=shown[0],
            last=shown[len(question.order) - 1],
        )
    return t.gettext("Tap a button, or type an option as it reads on its button.")


def switch_text(t: Translator, current: Question, new_title: str) -> str:
    """The offer made when a player starts a run in the middle of another one."""
    names = {
        "current": esc(current.pack.title),
        "number": current.number,
        "total": current.total,
        "new": esc(new_title),
    }
    if current.mode == "review":
        return t.gettext(
            "You are in the middle of <b>{current}</b> (review {number} of {total}). "
            "Start <b>{new}</b> instead? Your run is kept either way: /quiz, or ↩ here, "
            "brings you back to it.",
            **names,
        )
    return t.gettext(
        "You are in the middle of <b>{current}</b> (question {number} of {total}). "
        "Start <b>{new}</b> instead? Your run is kept either way: /quiz, or ↩ here, "
        "brings you back to it.",
        **names,
    )


# --------------------------------------------------------------------------- feedback


def verdict(t: Translator, feedback: Feedback) -> str:
    grade = feedback.grade
    if feedback.skipped:
        return t.gettext("⏭ <b>Skipped.</b>")
    if grade.correct:
        return t.gettext("✅ <b>Correct!</b>")
    if grade.score > 0:
        earned = phrases.points(t, round(grade.score * POINT))
        return t.gettext("🟡 <b>Partly right</b> ({points})", points=earned)
    return t.gettext("❌ <b>Not quite.</b>")


def quote_lines(sources: Sequence[str]) -> list[str]:
    """The article's own words, in quotation marks (once: a quote of a speech has its own)."""
    return [f"📖 <i>{esc(quoted(source))}</i>" for source in sources]


def feedback_text(t: Translator, feedback: Feedback, with_question: bool = True) -> str:
    """The verdict, the player's answer, the correct answer, the explanation and the quote.
    The explanation and the quote always fit: when the message would be too long, the echo of
    the player's answer gives way first, then the question above it."""
    question = feedback.question
    item = question.item

    def body(echoed: str) -> str:
        lines = [verdict(t, feedback)]
        if not feedback.skipped:
            lines.append(t.gettext("Your answer: {answer}", answer=echoed or "—"))
        if not feedback.grade.correct or isinstance(item, ShortItem | NumberItem):
            answer = esc(phrases.correct_answer(t, feedback))
            lines.append(t.gettext("Answer: <b>{answer}</b>", answer=answer))
        lines += [esc(remark) for remark in phrases.remarks(t, feedback)]
        lines += ["", f"💡 {esc(item.explanation)}", *quote_lines(item.sources)]
        return "\n".join(lines)

    limit = MessageLimit.MAX_TEXT_LENGTH
    header = f"{_header(t, question)}\n\n<b></b>\n\n" if with_question else ""
    least_question = min(len(esc(item.question)), 200) if with_question else 0
    room = limit - len(body("")) - len(header) - least_question
    response = feedback.response
    if isinstance(item, TrueFalseItem) and response in item.option_texts:
        response = phrases.option_label(t, item, response)
    tail = body(esc_within(" ".join(response.split()), max(min(ECHO, room), 20)))
    if not with_question:
        return fit(tail)
    room = limit - len(header) - len(tail)
    return fit(f"{_header(t, question)}\n\n<b>{esc_within(item.question, room)}</b>\n\n{tail}")


def esc_within(text: str, budget: int) -> str:
    """``text`` shortened so that, escaped, it takes at most ``budget`` characters."""
    cut = budget
    while True:
        out = esc(shorten(text, max(cut, 0)))
        if len(out) <= budget or cut <= 0:
            return out
        cut -= len(out) - budget


def next_keyboard(t: Translator, question: Question) -> InlineKeyboardMarkup:
    return keyboard([[(t.gettext("Next ▶"), callbacks.next_(question.run_id, question.number))]])


# --------------------------------------------------------------------------- end of a run


def summary_text(t: Translator, summary: RunSummary) -> str:
    title = esc(summary.pack.title)
    finished = summary.status == "finished"
    if summary.mode == "review":
        if finished:
            heading = t.gettext("🏁 <b>Review finished: {title}</b>", title=title)
        else:
            heading = t.gettext("🏁 <b>Review stopped: {title}</b>", title=title)
    elif finished:
        heading = t.gettext("🏁 <b>Quiz finished: {title}</b>", title=title)
    else:
        heading = t.gettext("🏁 <b>Quiz stopped: {title}</b>", title=title)
    lines = [
        heading,
        "",
        t.gettext(
            "Score: <b>{points}</b> of {total}",
            points=points(t, summary.score),
            total=summary.total,
        ),
        t.ngettext(
            "Accuracy: {accuracy} ({correct} of {n} answered)",
            "Accuracy: {accuracy} ({correct} of {n} answered)",
            summary.answered,
            accuracy=percent(summary.accuracy),
            correct=summary.correct,
        ),
        t.gettext("Time: {duration}", duration=duration(t, summary.seconds)),
    ]
    if summary.rank is not None:
        if summary.players_on_pack:
            rank = t.gettext(
                "Rank on this quiz: <b>#{rank}</b> of {players}",
                rank=summary.rank,
                players=summary.players_on_pack,
            )
        else:
            rank = t.gettext("Rank on this quiz: <b>#{rank}</b>", rank=summary.rank)
        lines.append(rank)
    if summary.mode == "review":
        lines.append(
            t.gettext("<i>Review runs are practice: they do not change the leaderboard.</i>")
        )
    assignment = ASSIGNMENT_OUTCOMES.get(summary.assignment or "")
    if assignment:
        lines.append(t.gettext(assignment))
    return fit("\n".join(lines))


ASSIGNMENT_OUTCOMES = {
    "counted": N_("📬 Handed in: this run is your submission for the assignment."),
    "late": N_("📬 Handed in late: this run is your submission, marked late."),
    "again": N_("Your first finished run is already your submission; this one was practice."),
    "closed": N_(
        "⛔ The assignment closed at its deadline, so this run does not count as a submission."
    ),
}
"""A finished run's effect on its assignment (bot/store/classes.py), in words."""


def percent(share: float) -> str:
    """0.75 -> '75%'."""
    return f"{share:.0%}"


def summary_keyboard(t: Translator, summary: RunSummary) -> InlineKeyboardMarkup:
    rows: list[list[tuple[str, str]]] = []
    if summary.missed_item_ids:
        rows.append([(t.gettext("🔁 Review my mistakes"), callbacks.review(summary.run_id))])
    rows.append(
        [
            (t.gettext("↻ Try again"), callbacks.restart(summary.pack.slug)),
            (t.gettext("🏆 Leaderboard"), callbacks.leaderboard(summary.pack.slug)),
        ]
    )
    return keyboard(rows)


# --------------------------------------------------------------------------- scores


def display_name(t: Translator, standing: Standing, viewer_id: int | None) -> str:
    if standing.user_id == viewer_id:
        return t.gettext("<b>{name}</b> (you)", name=esc(standing.name))
    if standing.hidden:
        return t.gettext("<i>anonymous</i>")
    return esc(standing.name)


def leaderboard_text(
    t: Translator,
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
        lines.append(t.gettext("No answers yet: be the first! /quiz"))
        return "\n".join(lines)
    medals = {1: "🥇", 2: "🥈", 3: "🥉"}
    for s in top:
        place = medals.get(s.rank, f"{s.rank}.")
        lines.append(
            f"{place} {display_name(t, s, viewer_id)} — {phrases.points(t, s.points)} "
            f"({s.correct}/{s.answered}, {duration(t, s.seconds_ms / 1000)})"
        )
    if mine is not None and all(s.user_id != mine.user_id for s in top):
        lines += [
            "…",
            f"{mine.rank}. {display_name(t, mine, viewer_id)} — {phrases.points(t, mine.points)}",
        ]
    elif mine is None and asked_by_player:
        lines += ["", t.gettext("You are not on this board yet.")]
    return fit("\n".join(lines))


def streak_text(t: Translator, streak: Streak) -> str:
    """The streak line of /score: current (with a freeze used this week) and longest."""
    if streak.current:
        line = t.ngettext("🔥 Streak: {n} day", "🔥 Streak: {n} days", streak.current)
        if streak.freeze_this_week:
            line += " " + t.gettext("(1 freeze used this week 🧊)")
    else:
        line = t.gettext("🔥 No streak right now")
    line += t.ngettext(" · longest: {n} day", " · longest: {n} days", streak.longest)
    if not streak.answered_today:
        line += "\n" + t.gettext("Answer a question today to keep your streak going: /quiz")
    if streak.zone is None:
        line += "\n" + t.gettext("Days are counted in UTC: set your time zone with /timezone.")
    else:
        line += "\n" + t.gettext("Days are counted in {zone}.", zone=esc(streak.zone))
    return line


def leech_text(t: Translator, pack: CachedPack, item_id: int) -> str | None:
    """A new leech, shown once in full (question, answer, explanation, the whole sentence of
    the article it rests on) before it leaves the student's reviews."""
    cached = pack.by_id.get(item_id)
    if cached is None:
        return None
    item = cached.item
    answer = esc(correct_answer_text(item, pack.language))
    quotes = [full_quote(pack.article_text, source) for source in item.sources]
    lines = [
        t.gettext(
            "🧩 <b>This question keeps slipping</b>: you missed it 4 times in review. Here it "
            "is in full, and from now on it stays out of your reviews."
        ),
        "",
        f"<b>{esc(item.question)}</b>",
        t.gettext("Answer: <b>{answer}</b>", answer=answer),
        "",
        f"💡 {esc(item.explanation)}",
        *quote_lines(quotes),
    ]
    return fit("\n".join(lines))


def leeches_text(t: Translator, leeches: Sequence[Leech], limit: int = 10) -> str:
    """The /score list of a student's leeches."""
    lines = [
        t.ngettext(
            "🧩 <b>{n} question keeps slipping</b> (missed 4 times in review; out of your "
            "reviews):",
            "🧩 <b>{n} questions keep slipping</b> (missed 4 times in review; out of your "
            "reviews):",
            len(leeches),
        )
    ]
    for leech in leeches[:limit]:
        lines.append(f"• {esc(shorten(leech.question, 120))} <i>({esc(leech.pack_title)})</i>")
    if len(leeches) > limit:
        lines.append(t.ngettext("… and {n} more", "… and {n} more", len(leeches) - limit))
    return "\n".join(lines)


def reminder_offer(t: Translator) -> str:
    """Offered once, after a student's first finished run."""
    return t.gettext(
        "⏰ Want a nudge when questions are due for review? Send /remind for a daily reminder "
        "at 18:00 your time (/remind 08:00 for another time; /timezone sets your zone)."
    )


def score_text(t: Translator, scores: Scores) -> str:
    stats = scores.packs
    if not stats:
        return t.gettext("You have not answered any question yet. Send /quiz to start.")
    lines = [t.gettext("📊 <b>Your scores</b>"), "", streak_text(t, scores.streak)]
    for s in stats:
        if s.best_run is not None and s.best_run_items:
            best = t.gettext(
                "Best run: {points} of {total}",
                points=points(t, s.best_run),
                total=s.best_run_items,
            )
        else:
            best = t.gettext("Best run: no finished run yet")
        if s.responded:
            answered = t.gettext(
                "Answered {answered}, skipped {skipped}, correct {correct} "
                "({accuracy} of answered)",
                answered=s.responded,
                skipped=s.skipped,
                correct=s.correct,
                accuracy=percent(s.correct / s.responded),
            )
        else:
            answered = t.gettext(
                "Answered {answered}, skipped {skipped}, correct {correct}",
                answered=s.responded,
                skipped=s.skipped,
                correct=s.correct,
            )
        lines += ["", f"<b>{esc(s.title)}</b>", answered, best]
    if scores.leeches:
        lines += ["", leeches_text(t, scores.leeches)]
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
