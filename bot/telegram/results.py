"""Item analysis (/stats) and the results export (/export) of a pack."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot.i18n import N_, Translator
from bot.packs.wording import say
from bot.quiz import analysis
from bot.quiz.classes import Viewer
from bot.quiz.export import csv_bytes
from bot.store.models import PackRow
from bot.telegram import classes, render
from bot.telegram.context import QuizContext, player_of, reply, services
from bot.telegram.staff import (
    DOCUMENT_LIMIT,
    Caller,
    counted,
    pack_for,
    paginate,
    send_parts,
    staff_only,
)
from bot.text import shorten

log = logging.getLogger("quizbot.instructor")


def _stats_block(t: Translator, item: analysis.ItemStats) -> str:
    number = t.gettext("retired") if item.retired else f"{item.position + 1}."
    facility = "–" if item.facility is None else f"{item.facility:.2f}"
    discrimination = "–" if item.discrimination is None else f"{item.discrimination:+.2f}"
    students = t.ngettext("{n} student", "{n} students", item.students)
    measures = t.gettext(
        "facility {facility} · discrimination {discrimination}",
        facility=facility,
        discrimination=discrimination,
    )
    lines = [f"{number} <b>{render.esc(item.key)}</b> {item.type} · {students} · {measures}"]
    if item.options:
        old = " " + t.gettext("(old)")
        picks = " · ".join(
            f"{'✓ ' if o.correct else ''}{render.esc(shorten(o.text, 40))}"
            f"{'' if o.current else old} {o.picks}"
            for o in item.options
        )
        lines.append("   " + t.gettext("picked: {picks}", picks=picks))
    for note in flag_notes(t, item):
        lines.append(f"   ⚠ {render.esc(shorten(note, 600))}")
    if item.leeches:
        lines.append(
            "   🧩 "
            + t.ngettext(
                "a leech for {n} student (missed 4 times in review): worth rewriting?",
                "a leech for {n} students (missed 4 times in review): worth rewriting?",
                item.leeches,
            )
        )
    return "\n".join(lines)


def flag_notes(t: Translator, item: analysis.ItemStats) -> list[str]:
    """One sentence per flag of an item (the analysis names the flags and their numbers)."""
    notes = []
    share = render.percent(item.facility) if item.facility is not None else ""
    for flag in item.flags:
        if flag == "too-easy" and item.facility is not None:
            notes.append(t.gettext("too easy: {share} correct", share=share))
        elif flag == "too-hard" and item.facility is not None:
            notes.append(t.gettext("too hard: {share} correct", share=share))
        elif flag == "negative-discrimination":
            value = f"{item.discrimination:+.2f}"
            notes.append(t.gettext("negative discrimination ({value})", value=value))
        elif flag == "low-discrimination":
            value = f"{item.discrimination:+.2f}"
            notes.append(t.gettext("near-zero discrimination ({value})", value=value))
        elif flag == "unused-distractor":
            quoted = ", ".join(f"“{text}”" for text in item.unused_distractors)
            notes.append(t.gettext("nobody picks {options}", options=quoted))
        elif flag == "candidate-answer":
            quoted = ", ".join(f"“{c.text}” ×{c.count}" for c in item.candidates)
            notes.append(
                t.gettext("frequent wrong answers, accept them? {answers}", answers=quoted)
            )
    return notes


def sample_text(t: Translator, result: analysis.Analysis) -> str:
    """Who the analysis counts: "12 students, first complete runs (10 private, 2 group)"."""
    kinds = ", ".join(f"{n} {kind}" for kind, n in result.sittings_by_kind.items() if n)
    text = t.ngettext(
        "{n} student, first complete runs", "{n} students, first complete runs", result.students
    )
    return text + (f" ({kinds})" if kinds else "")


STATS_USAGE = N_(
    "Usage: /stats <i>pack</i> for the item analysis of everyone's first runs, or /stats "
    "<i>pack</i> class [<i>number</i>] for the submissions of one class's assignment (the "
    "numbers are in /assignments)."
)


async def class_runs(
    update: Update, context: QuizContext, caller: Caller, slug: str, number: list[str]
) -> tuple[list[int], str] | None:
    """The submitted runs of the assignment of ``slug`` that ``/stats <pack> class [n]``
    names (the only one the caller can see, when no number is given), and its group."""
    t = caller.t
    user = update.effective_user
    assert user is not None
    viewer = Viewer(player_of(user), caller.admin)
    classes = services(context).classes
    given = [p for p in await classes.visible_to(viewer, with_names=False) if p.pack_slug == slug]
    if number:
        wanted = number[0].lstrip("#")
        given = [p for p in given if str(p.assignment_id) == wanted]
        if not given:
            await reply(update, t.gettext(STATS_USAGE))
            return None
    if not given:
        await reply(
            update,
            t.gettext(
                "You have not assigned <code>{slug}</code> to a class yet (/assign in a group).",
                slug=render.esc(slug),
            ),
        )
        return None
    if len(given) > 1:
        choices = ", ".join(
            f"<code>/stats {slug} class {p.assignment_id}</code> ({render.esc(p.chat_title)})"
            for p in given
        )
        await reply(update, t.gettext("Which class? {choices}", choices=choices))
        return None
    found = await classes.submitted_runs(viewer, given[0].assignment_id)
    assert found is not None
    return found[1], given[0].chat_title


async def stats_command(update: Update, context: QuizContext) -> None:
    """Item analysis of a pack: facility, discrimination, options picked, flags, a chart."""
    caller = await staff_only(update, context, "/stats")
    if caller is None:
        return
    t = caller.t
    args = [a.lower() for a in context.args or []]
    in_class = len(args) in (2, 3) and args[1] == "class"
    if len(args) > 1 and not in_class:
        await reply(update, t.gettext(STATS_USAGE))
        return
    row = await pack_for(update, context, caller, "stats", t.gettext(STATS_USAGE))
    if row is None:
        return
    run_ids = None
    title = f"📊 <b>{render.esc(row.title)}</b> (<code>{row.slug}</code>)"
    if in_class:
        chosen = await class_runs(update, context, caller, row.slug, args[2:])
        if chosen is None:
            return
        run_ids, group = chosen
        title += " · " + t.gettext("class: {group}", group=render.esc(group))
    result = await services(context).admin.analyse(row, in_thread=True, run_ids=run_ids)
    if result.students == 0:
        nothing = t.gettext(
            "No student has finished a full run of this pack yet, so there is nothing to analyse."
        )
        await reply(update, f"{title}\n{nothing}")
        return
    mean = ""
    if result.mean_score is not None:
        average = f"{result.mean_score:.1f}"
        mean = " · " + t.gettext("{mean} correct answers on average", mean=average)
    header = f"{title}\n{render.esc(sample_text(t, result))}{mean}\n"
    flagged = len(result.flagged)
    low = f"{analysis.LOW_DISCRIMINATION:.2f}"
    footer = (
        t.ngettext("{n} item flagged.", "{n} items flagged.", flagged)
        + " "
        + t.gettext(
            "Facility is the share of correct answers (flagged over {easy} or under {hard}); "
            "discrimination is the correlation between an item and the rest of the quiz (flagged "
            "under {low}). Flags need {students}+ students per item.",
            easy=render.percent(analysis.EASY_ABOVE),
            hard=render.percent(analysis.HARD_BELOW),
            low=low,
            students=analysis.MIN_STUDENTS,
        )
    )
    parts, left_out = paginate(
        header,
        [_stats_block(t, i) for i in result.items],
        counted(caller.t, "item"),
        footer,
        max_parts=4,
        t=caller.t,
    )
    await send_parts(update, parts)
    chat = update.effective_chat
    assert chat is not None
    if left_out:
        await context.bot.send_document(
            chat.id,
            csv_bytes(analysis.csv_rows(result)),
            filename=f"{row.slug}-items.csv",
            caption=t.gettext("Every item's statistics."),
        )
    png = await asyncio.to_thread(analysis.chart_png, result)
    await context.bot.send_photo(
        chat.id,
        png,
        # Captions are HTML too (the default parse mode): the title is escaped after cutting.
        caption=render.esc(shorten(row.title, 900))
        + t.gettext(": facility against discrimination; flagged items are labelled."),
    )


EXPORT_FORMATS = {
    "moodle": "moodle-xml",
    "moodle-xml": "moodle-xml",
    "xml": "moodle-xml",
    "gift": "gift",
    "aiken": "aiken",
    "anki": "anki",
    "yaml": "yaml",
}
"""The formats ``/export <pack> <format>`` takes, as :func:`export_pack` names them."""

EXPORT_USAGE = N_(
    "Usage: /export <i>pack</i> for the results as CSV files, or /export <i>pack</i> "
    "moodle|gift|aiken|anki|yaml for its questions in that format (see /mypacks)."
)

FORMAT_NAMES = {
    "moodle-xml": N_("Moodle XML"),
    "gift": N_("GIFT"),
    "aiken": N_("Aiken"),
    "anki": N_("an Anki deck"),
    "yaml": N_("a YAML pack"),
}


def export_caption(t: Translator, title: str, fmt: str, items: int, skipped: int) -> str:
    caption = t.ngettext(
        "<b>{title}</b> as {format}: {n} item",
        "<b>{title}</b> as {format}: {n} items",
        items,
        title=render.esc(shorten(title, 200)),
        format=t.gettext(FORMAT_NAMES[fmt]),
    )
    if skipped:
        caption += t.gettext(", {skipped} skipped (the format cannot hold them)", skipped=skipped)
    return caption + "."


async def export_questions(
    update: Update, context: QuizContext, caller: Caller, row: PackRow, fmt: str
) -> None:
    """Send a pack's questions as a Moodle XML, GIFT, Aiken, Anki or YAML file."""
    t = caller.t
    chat = update.effective_chat
    pack = await services(context).admin.published_pack(row.slug)
    if pack is None or chat is None:
        await reply(
            update,
            t.gettext(
                "<b>{title}</b> has no live questions to export.", title=render.esc(row.title)
            ),
        )
        return
    from bot.packs.exporters import export_pack  # genanki: loaded by the first /export only

    exported = await asyncio.to_thread(export_pack, pack, fmt)
    if len(exported.data) > DOCUMENT_LIMIT:
        command = f"<code>quizbot pack export {row.slug} --format {fmt}</code>"
        await reply(
            update,
            t.gettext(
                "The file is larger than the 50 MB a bot may send: run {command} on the "
                "server instead.",
                command=command,
            ),
        )
        return
    log.info("Telegram user %s exported pack %s as %s", caller.telegram_id, row.slug, fmt)
    caption = export_caption(t, pack.title, fmt, exported.items, len(exported.skipped))
    await context.bot.send_document(
        chat.id, exported.data, filename=exported.file_name, caption=caption
    )
    if exported.skipped:
        blocks = [render.esc(shorten(say(t, note), 600)) for note in exported.skipped]
        parts, _ = paginate(t.gettext("Skipped:"), blocks, counted(t, "item"), "", t=t)
        await send_parts(update, parts)


async def export_command(update: Update, context: QuizContext) -> None:
    """Send a pack's results as two CSV files (every attempt, one row per student); with a
    format, send its questions in that format instead."""
    caller = await staff_only(update, context, "/export")
    if caller is None:
        return
    t = caller.t
    args = context.args or []
    if args and args[0].lower() == "class":
        await classes.export_class(update, context, caller, args[1:])
        return
    fmt = EXPORT_FORMATS.get(args[1].lower()) if len(args) == 2 else None
    if len(args) > 2 or (len(args) == 2 and fmt is None):
        await reply(update, t.gettext(EXPORT_USAGE))
        return
    row = await pack_for(
        update, context, caller, "export", t.gettext(EXPORT_USAGE), active_ones=fmt is not None
    )
    if row is None:
        return
    if fmt is not None:
        await export_questions(update, context, caller, row, fmt)
        return
    exported = await services(context).admin.export(row, in_thread=True)
    if exported.attempts == 0:
        await reply(
            update,
            t.gettext("Nobody has answered <b>{title}</b> yet.", title=render.esc(row.title)),
        )
        return
    if max(len(exported.attempts_csv), len(exported.students_csv)) > DOCUMENT_LIMIT:
        command = f"<code>quizbot export {row.slug}</code>"
        await reply(
            update,
            t.gettext(
                "The export is larger than the 50 MB a bot may send: run {command} on the "
                "server instead.",
                command=command,
            ),
        )
        return
    chat = update.effective_chat
    assert chat is not None
    log.info("Telegram user %s exported pack %s", caller.telegram_id, row.slug)
    await context.bot.send_document(
        chat.id,
        exported.attempts_csv,
        filename=exported.attempts_name,
        caption=t.ngettext(
            "{n} answer: one row per attempt.",
            "{n} answers: one row per attempt.",
            exported.attempts,
        ),
    )
    await context.bot.send_document(
        chat.id,
        exported.students_csv,
        filename=exported.students_name,
        caption=t.ngettext(
            "{n} student: one row each.", "{n} students: one row each.", exported.students
        ),
    )
