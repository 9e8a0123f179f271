"""Instructors' packs: /mypacks, and /hide, /show, /retire."""

from __future__ import annotations

import logging

from telegram import Update

from bot.quiz.packadmin import STATUS_OF_ACTION
from bot.telegram import render
from bot.telegram.context import QuizContext, reply, services
from bot.telegram.staff import counted, deep_link, pack_for, paginate, send_parts, staff_only

log = logging.getLogger("quizbot.instructor")


STATUS_OF = STATUS_OF_ACTION


async def mypacks_command(update: Update, context: QuizContext) -> None:
    """List the caller's packs (every pack for an admin) with status, items and players."""
    caller = await staff_only(update, context, "/mypacks")
    if caller is None:
        return
    t = caller.t
    rows = await services(context).admin.list_packs(None if caller.admin else caller.user_id)
    if not rows:
        await reply(
            update,
            t.gettext(
                "You have not published a pack yet: send me a <b>.yaml</b> pack file "
                "(see /instructor)."
            ),
        )
        return
    header = t.gettext("📚 <b>All packs</b>") if caller.admin else t.gettext("📚 <b>Your packs</b>")
    statuses = {
        "active": t.gettext("✅ active"),
        "hidden": t.gettext("🙈 hidden"),
        "retired": t.gettext("🗄 retired"),
    }
    blocks = []
    for r in rows:
        status = statuses.get(r.status, r.status)
        owner = ""
        if caller.admin and r.owner_name:
            owner = " · " + t.gettext("by {name}", name=render.esc(r.owner_name))
        elif caller.admin:
            owner = " · " + t.gettext("operator's pack")
        items = t.ngettext("{n} item", "{n} items", r.live_items)
        players = t.ngettext("{n} player", "{n} players", r.players)
        lines = [
            f"• <b>{render.esc(r.title)}</b> — <code>{r.slug}</code>{owner}",
            f"  {status} · {items} · {players}",
        ]
        if r.status == "active":
            lines.append(f"  {deep_link(context, r.slug)}")
        blocks.append("\n".join(lines))
    footer = t.gettext(
        "/stats <i>pack</i> · /export <i>pack</i> · /hide, /show or /retire <i>pack</i>. "
        "Hidden and retired packs are not offered to students."
    )
    parts, _ = paginate(header, blocks, counted(caller.t, "pack"), footer, t=caller.t)
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
    t = caller.t
    names = {"title": f"<b>{render.esc(row.title)}</b>", "slug": row.slug}
    if status == "active":
        link = deep_link(context, row.slug)
        text = t.gettext("👀 {title} is visible to students. Link: {link}", link=link, **names)
        already = t.gettext("(It already was visible.)")
    elif status == "hidden":
        text = t.gettext(
            "🙈 {title} is hidden: students no longer see it or start it (games in progress "
            "finish). You still have /stats and /export; /show {slug} brings it back.",
            **names,
        )
        already = t.gettext("(It already was hidden.)")
    else:
        text = t.gettext(
            "🗄 {title} is retired: it is no longer offered, and its history is kept for "
            "/stats and /export. /show {slug} would bring it back.",
            **names,
        )
        already = t.gettext("(It already was retired.)")
    if row.status == status:
        text = f"{already} {text}"
    await reply(update, text)
