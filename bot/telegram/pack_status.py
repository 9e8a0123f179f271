"""Instructors' packs: /mypacks, and /hide, /show, /retire."""

from __future__ import annotations

import logging

from telegram import Update

from bot.quiz.packadmin import STATUS_OF_ACTION
from bot.telegram import render
from bot.telegram.context import QuizContext, reply, services
from bot.telegram.staff import deep_link, pack_for, paginate, plural, send_parts, staff_only

log = logging.getLogger("quizbot.instructor")


STATUS_OF = STATUS_OF_ACTION


async def mypacks_command(update: Update, context: QuizContext) -> None:
    """List the caller's packs (every pack for an admin) with status, items and players."""
    caller = await staff_only(update, context, "/mypacks")
    if caller is None:
        return
    rows = await services(context).admin.list_packs(None if caller.admin else caller.user_id)
    if not rows:
        await reply(
            update,
            "You have not published a pack yet: send me a <b>.yaml</b> pack file "
            "(see /instructor).",
        )
        return
    header = "📚 <b>All packs</b>" if caller.admin else "📚 <b>Your packs</b>"
    blocks = []
    for r in rows:
        status = {"active": "✅ active", "hidden": "🙈 hidden", "retired": "🗄 retired"}.get(
            r.status, r.status
        )
        owner = f" · by {render.esc(r.owner_name)}" if caller.admin and r.owner_name else ""
        owner = owner or (" · operator's pack" if caller.admin and r.owner_name is None else "")
        lines = [
            f"• <b>{render.esc(r.title)}</b> — <code>{r.slug}</code>{owner}",
            f"  {status} · {r.live_items} items · {r.players} player(s)",
        ]
        if r.status == "active":
            lines.append(f"  {deep_link(context, r.slug)}")
        blocks.append("\n".join(lines))
    footer = (
        "/stats <i>pack</i> · /export <i>pack</i> · /hide, /show or /retire <i>pack</i>. "
        "Hidden and retired packs are not offered to students."
    )
    parts, _ = paginate(header, blocks, plural("pack"), footer)
    await send_parts(update, parts)


async def status_command(update: Update, context: QuizContext) -> None:
    """/hide, /show or /retire a pack."""
    message = update.effective_message
    if message is None or not message.text:
        return
    command = message.text.split()[0].lstrip("/").split("@")[0].lower()
    caller = await staff_only(update, context, f"/{command}")
    if caller is None:
        return
    row = await pack_for(update, context, caller, command)
    if row is None:
        return
    status = STATUS_OF[command]
    svc = services(context)
    change = await svc.admin.set_status(row.slug, status)
    if change is not None and change.changed:
        log.info("Telegram user %s set pack %s to %s", caller.telegram_id, row.slug, status)
    title = f"<b>{render.esc(row.title)}</b>"
    if status == "active":
        text = f"👀 {title} is visible to students. Link: {deep_link(context, row.slug)}"
    elif status == "hidden":
        text = (
            f"🙈 {title} is hidden: students no longer see it or start it (games in progress "
            f"finish). You still have /stats and /export; /show {row.slug} brings it back."
        )
    else:
        text = (
            f"🗄 {title} is retired: it is no longer offered, and its history is kept for "
            f"/stats and /export. /show {row.slug} would bring it back."
        )
    if row.status == status:
        text = f"(It already was {status}.) " + text
    await reply(update, text)
