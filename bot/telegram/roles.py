"""Roles: admins /grant and /revoke the instructor role; /instructor explains the tools;
instructor tools sent in a group are sent back to a private chat."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import TelegramError

from bot.i18n import N_, Translator, pick_language, translator
from bot.telegram import render
from bot.telegram.context import QuizContext, reply, services
from bot.telegram.menus import drop_menu, set_menu
from bot.telegram.staff import caller_of, refuse, staff_only

log = logging.getLogger("quizbot.instructor")


INSTRUCTOR_HELP = N_("""<b>Instructor tools</b>
<b>Publish a pack:</b> send me its <b>.yaml</b> file here. Its <code>article:</code> must name an \
article I have: send the article as a <b>.txt</b> file with that name (before or after the \
pack), or name the article of a pack that is already published. I check the pack like \
<code>quizbot pack validate</code> and show what publishing would change; the Publish button \
does it (within 30 minutes). You get the link to share with your class.
<b>Questions from other tools:</b> send a Moodle XML (<b>.xml</b>), GIFT (<b>.gift</b> or \
<b>.txt</b>), Aiken (<b>.aiken</b> or <b>.txt</b>), <b>.csv</b> or <b>.xlsx</b> file: I convert \
it and answer the same way, with what was skipped.
<b>Draft a pack:</b> send an article as a <b>.txt</b> file with the caption /draft; I send \
back a draft pack to review.

/mypacks — your packs and their status
/stats <i>pack</i> — item analysis: which questions work, with a chart
/export <i>pack</i> — the results as CSV files; /export <i>pack</i> \
moodle|gift|aiken|anki|yaml — its questions in that format
/hide, /show, /retire <i>pack</i> — hidden and retired packs are not offered to students
/instructor — this help""")


ADMIN_HELP = N_("""<b>Admins:</b> /grant and /revoke the instructor role, with a user id or \
@username, or in reply to that person's message.""")


async def _role_target(
    update: Update, context: QuizContext, t: Translator, command: str
) -> tuple[int, str | None, str | None] | None:
    """``(Telegram id, name, username)`` named by the argument or the replied-to message."""
    message = update.effective_message
    args = context.args or []
    replied = message.reply_to_message if message is not None else None
    if not args and replied is not None and replied.from_user is not None:
        target = replied.from_user
        if target.is_bot:
            await reply(update, t.gettext("That is a bot; roles are for people."))
            return None
        return target.id, target.full_name, target.username
    if len(args) == 1 and args[0].isdigit() and 0 < int(args[0]) < 2**63:
        return int(args[0]), None, None
    if len(args) == 1 and args[0].startswith("@") and len(args[0]) > 1:
        found = await services(context).admin.find_by_username(args[0])
        if found is None:
            await reply(
                update,
                t.gettext(
                    "I do not know {who} yet: they must write to me first, or use "
                    "their numeric user id.",
                    who=render.esc(args[0]),
                ),
            )
            return None
        return found[1], None, None
    await reply(
        update,
        t.gettext(
            "Usage: /{command} <i>user id</i> or /{command} @<i>username</i>, or send /{command} "
            "in reply to a message of that person.",
            command=command,
        ),
    )
    return None


async def grant_command(update: Update, context: QuizContext) -> None:
    """Give someone the instructor role (admins only)."""
    await _change_role(update, context, "grant")


async def revoke_command(update: Update, context: QuizContext) -> None:
    """Take the instructor role away (admins only)."""
    await _change_role(update, context, "revoke")


async def _change_role(update: Update, context: QuizContext, command: str) -> None:
    user = update.effective_user
    if user is None:
        return
    caller = await caller_of(context, user)
    if not caller.admin:
        await refuse(update, caller, f"/{command}", admins_only=True)
        return
    t = caller.t
    target = await _role_target(update, context, t, command)
    if target is None:
        return
    telegram_id, name, username = target
    svc = services(context)
    if command == "grant":
        role = await svc.admin.grant(telegram_id, name, username, granted_by=caller.telegram_id)
    else:  # revoking never creates a user
        role = await svc.admin.revoke(telegram_id)
    changed = role.changed
    shown = role.name or t.gettext("user {id}", id=telegram_id)
    who = f"<b>{render.esc(shown)}</b> (id {telegram_id})"
    log.info("admin %s: %s instructor %s -> %s", caller.telegram_id, command, telegram_id, changed)
    if command == "grant":
        if changed:
            await reply(update, t.gettext("✅ {who} is now an instructor.", who=who))
            await _welcome(context, telegram_id)
        else:
            await reply(update, t.gettext("{who} already is an instructor.", who=who))
        return
    admin_note = ""
    if telegram_id in svc.settings.admin_ids:
        admin_note = " " + t.gettext(
            "They are an admin (QUIZBOT_ADMIN_IDS), so they keep every instructor tool."
        )
    if changed:
        await reply(
            update,
            t.gettext(
                "{who} is no longer an instructor. Their packs stay as they are; an admin can "
                "/hide or /retire them.",
                who=who,
            )
            + admin_note,
        )
        if telegram_id not in svc.settings.admin_ids:
            with contextlib.suppress(TelegramError):
                await drop_menu(context.bot, telegram_id)
    else:
        await reply(update, t.gettext("{who} was not an instructor.", who=who) + admin_note)


async def _welcome(context: QuizContext, telegram_id: int) -> None:
    """Tell a new instructor what they can do, and give them the instructor menu. Someone who
    has never started the bot cannot be messaged: they see it with /instructor."""
    chosen = await services(context).quiz.chosen_language(telegram_id, None)
    t = translator(pick_language(chosen, None, group=False))
    with contextlib.suppress(TelegramError):
        await set_menu(context.bot, telegram_id, admin=False, chosen=chosen)
        await context.bot.send_message(
            telegram_id,
            t.gettext("🎓 You are now an instructor of this bot.")
            + "\n\n"
            + t.gettext(INSTRUCTOR_HELP),
        )


async def instructor_help(update: Update, context: QuizContext) -> None:
    """How instructors publish packs, and their commands."""
    caller = await staff_only(update, context, "/instructor")
    if caller is None:
        return
    t = caller.t
    admin = "\n" + t.gettext(ADMIN_HELP) if caller.admin else ""
    await reply(update, t.gettext(INSTRUCTOR_HELP) + "\n" + t.gettext(CLASSES_HELP) + admin)


CLASSES_HELP = N_(
    "Classes: /assign <i>pack</i> [<i>due</i>] in a group you administer gives it the quiz "
    "with a Start link; /assignments shows who has done it, /report <i>number</i> the class's "
    "results."
)


async def in_private_only(update: Update, context: QuizContext) -> None:
    """Instructor tools in a group: results stay private, so they work in a private chat."""
    message = update.effective_message
    if message is None or not message.text:
        return
    command = message.text.split()[0].split("@")[0]
    caller = await staff_only(update, context, command)
    if caller is None:
        return
    await reply(
        update,
        caller.t.gettext(
            "{command} works in a private chat with me, so that results stay private.",
            command=render.esc(command),
        ),
    )


PRIVATE_TOOLS = (
    "mypacks",
    "stats",
    "export",
    "draft",
    "hide",
    "show",
    "retire",
    "instructor",
    "report",
)
