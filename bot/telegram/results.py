"""Item analysis (/stats) and the results export (/export) of a pack."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update

from bot.packs.exporters import export_pack
from bot.quiz import analysis
from bot.quiz.export import csv_bytes
from bot.store.models import PackRow
from bot.telegram import render
from bot.telegram.context import QuizContext, reply, services
from bot.telegram.staff import (
    DOCUMENT_LIMIT,
    Caller,
    pack_for,
    paginate,
    plural,
    send_parts,
    staff_only,
)
from bot.text import shorten

log = logging.getLogger("quizbot.instructor")


def _stats_block(item: analysis.ItemStats) -> str:
    number = "retired" if item.retired else f"{item.position + 1}."
    facility = "–" if item.facility is None else f"{item.facility:.2f}"
    discrimination = "–" if item.discrimination is None else f"{item.discrimination:+.2f}"
    lines = [
        f"{number} <b>{render.esc(item.key)}</b> {item.type} · {item.students} students · "
        f"facility {facility} · discrimination {discrimination}"
    ]
    if item.options:
        picks = " · ".join(
            f"{'✓ ' if o.correct else ''}{render.esc(shorten(o.text, 40))}"
            f"{'' if o.current else ' (old)'} {o.picks}"
            for o in item.options
        )
        lines.append(f"   picked: {picks}")
    for note in item.flag_notes():
        lines.append(f"   ⚠ {render.esc(shorten(note, 600))}")
    return "\n".join(lines)


async def stats_command(update: Update, context: QuizContext) -> None:
    """Item analysis of a pack: facility, discrimination, options picked, flags, a chart."""
    caller = await staff_only(update, context, "/stats")
    if caller is None:
        return
    row = await pack_for(update, context, caller, "stats")
    if row is None:
        return
    result = await services(context).admin.analyse(row, in_thread=True)
    title = f"📊 <b>{render.esc(row.title)}</b> (<code>{row.slug}</code>)"
    if result.students == 0:
        await reply(
            update,
            f"{title}\nNo student has finished a full run of this pack yet, so there is "
            "nothing to analyse.",
        )
        return
    mean = (
        f" · {result.mean_score:.1f} correct answers on average"
        if result.mean_score is not None
        else ""
    )
    header = f"{title}\n{render.esc(result.sample_text())}{mean}\n"
    flagged = len(result.flagged)
    footer = (
        f"{flagged} item{'s' if flagged != 1 else ''} flagged. Facility is the share of correct "
        f"answers (flagged over {analysis.EASY_ABOVE:.0%} or under {analysis.HARD_BELOW:.0%}); "
        "discrimination is the correlation between an item and the rest of the quiz (flagged "
        f"under {analysis.LOW_DISCRIMINATION:.2f}). Flags need {analysis.MIN_STUDENTS}+ "
        "students per item."
    )
    parts, left_out = paginate(
        header, [_stats_block(i) for i in result.items], plural("item"), footer, max_parts=4
    )
    await send_parts(update, parts)
    chat = update.effective_chat
    assert chat is not None
    if left_out:
        await context.bot.send_document(
            chat.id,
            csv_bytes(analysis.csv_rows(result)),
            filename=f"{row.slug}-items.csv",
            caption="Every item's statistics.",
        )
    png = await asyncio.to_thread(analysis.chart_png, result)
    await context.bot.send_photo(
        chat.id,
        png,
        # Captions are HTML too (the default parse mode): the title is escaped after cutting.
        caption=render.esc(shorten(row.title, 900))
        + ": facility against discrimination; flagged items are labelled.",
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

EXPORT_USAGE = (
    "Usage: /export <i>pack</i> for the results as CSV files, or /export <i>pack</i> "
    "moodle|gift|aiken|anki|yaml for its questions in that format (see /mypacks)."
)

FORMAT_NAMES = {
    "moodle-xml": "Moodle XML",
    "gift": "GIFT",
    "aiken": "Aiken",
    "anki": "an Anki deck",
    "yaml": "a YAML pack",
}


def export_caption(title: str, fmt: str, items: int, skipped: int) -> str:
    return (
        f"<b>{render.esc(shorten(title, 200))}</b> as {FORMAT_NAMES[fmt]}: "
        f"{items} item{'s' if items != 1 else ''}"
        + (f", {skipped} skipped (the format cannot hold them)" if skipped else "")
        + "."
    )


async def export_questions(
    update: Update, context: QuizContext, caller: Caller, row: PackRow, fmt: str
) -> None:
    """Send a pack's questions as a Moodle XML, GIFT, Aiken, Anki or YAML file."""
    chat = update.effective_chat
    pack = await services(context).admin.published_pack(row.slug)
    if pack is None or chat is None:
        await reply(update, f"<b>{render.esc(row.title)}</b> has no live questions to export.")
        return
    exported = await asyncio.to_thread(export_pack, pack, fmt)
    if len(exported.data) > DOCUMENT_LIMIT:
        await reply(
            update,
            "The file is larger than the 50 MB a bot may send: run "
            f"<code>quizbot pack export {row.slug} --format {fmt}</code> on the server instead.",
        )
        return
    log.info("Telegram user %s exported pack %s as %s", caller.telegram_id, row.slug, fmt)
    caption = export_caption(pack.title, fmt, exported.items, len(exported.skipped))
    await context.bot.send_document(
        chat.id, exported.data, filename=exported.file_name, caption=caption
    )
    if exported.skipped:
        blocks = [render.esc(shorten(note, 600)) for note in exported.skipped]
        parts, _ = paginate("Skipped:", blocks, plural("item"), "")
        await send_parts(update, parts)


async def export_command(update: Update, context: QuizContext) -> None:
    """Send a pack's results as two CSV files (every attempt, one row per student); with a
    format, send its questions in that format instead."""
    caller = await staff_only(update, context, "/export")
    if caller is None:
        return
    args = context.args or []
    fmt = EXPORT_FORMATS.get(args[1].lower()) if len(args) == 2 else None
    if len(args) > 2 or (len(args) == 2 and fmt is None):
        await reply(update, EXPORT_USAGE)
        return
    row = await pack_for(
        update, context, caller, "export", EXPORT_USAGE, active_ones=fmt is not None
    )
    if row is None:
        return
    if fmt is not None:
        await export_questions(update, context, caller, row, fmt)
        return
    exported = await services(context).admin.export(row, in_thread=True)
    if exported.attempts == 0:
        await reply(update, f"Nobody has answered <b>{render.esc(row.title)}</b> yet.")
        return
    if max(len(exported.attempts_csv), len(exported.students_csv)) > DOCUMENT_LIMIT:
        await reply(
            update,
            "The export is larger than the 50 MB a bot may send: run "
            f"<code>quizbot export {row.slug}</code> on the server instead.",
        )
        return
    chat = update.effective_chat
    assert chat is not None
    log.info("Telegram user %s exported pack %s", caller.telegram_id, row.slug)
    await context.bot.send_document(
        chat.id,
        exported.attempts_csv,
        filename=exported.attempts_name,
        caption=f"{exported.attempts:,} answers: one row per attempt.",
    )
    await context.bot.send_document(
        chat.id,
        exported.students_csv,
        filename=exported.students_name,
        caption=f"{exported.students:,} students: one row each.",
    )
