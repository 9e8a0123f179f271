"""/language: the language the bot speaks, chosen with buttons (each language by its own name).

In a private chat it is the user's choice; in a group, the group's, and only a group admin
may set it. The choice is stored in the database (see :mod:`bot.i18n` for the fallbacks).
"""

from __future__ import annotations

import contextlib
import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError

from bot.i18n import LANGUAGE_NAMES, LANGUAGES, Translator, translator
from bot.telegram import callbacks, render
from bot.telegram.context import QuizContext, player_of, pressed, reply, services, tr
from bot.telegram.menus import set_menu
from bot.telegram.staff import caller_of

log = logging.getLogger("quizbot.telegram")


def language_keyboard(current: str) -> InlineKeyboardMarkup:
    """One button per shipped language, the current one ticked."""
    buttons = [
        (("✓ " if code == current else "") + LANGUAGE_NAMES[code], callbacks.language(code))
        for code in LANGUAGES
    ]
    return render.keyboard(render.chunk(buttons, 2))


async def is_group_admin(context: QuizContext, chat_id: int, user_id: int) -> bool:
    try:
        member = await context.bot.get_chat_member(chat_id, user_id)
    except TelegramError:
        return False
    return member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)


def _prompt(t: Translator, in_group: bool) -> str:
    if in_group:
        return t.gettext(
            "🌐 Which language should I speak in this group? (Only a group admin can choose.)"
        )
    return t.gettext("🌐 Which language should I speak with you?")


async def language_command(update: Update, context: QuizContext) -> None:
    """Offer the shipped languages; in a group, only an admin may choose."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    t = await tr(update, context)
    in_group = chat.type != ChatType.PRIVATE
    if in_group and not await is_group_admin(context, chat.id, user.id):
        await reply(update, t.gettext("Only a group admin can change the language here."))
        return
    await reply(update, _prompt(t, in_group), reply_markup=language_keyboard(t.language))


async def language_button(update: Update, context: QuizContext) -> None:
    """Store the language a button names (checked again: a group member may tap it too)."""
    action = await pressed(update, context)
    if action is None:
        return
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    assert query is not None and user is not None
    if action.slug not in LANGUAGES:
        await query.answer((await tr(update, context)).gettext("This button is not valid."))
        return
    svc = services(context)
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    if in_group and chat is not None:
        if not await is_group_admin(context, chat.id, user.id):
            t = await tr(update, context)
            await query.answer(t.gettext("Only a group admin can change the language here."))
            return
        await svc.quiz.choose_group_language(chat.id, chat.type, chat.title, action.slug)
    else:
        await svc.quiz.choose_language(player_of(user), action.slug)
        # The command menu of this chat in the chosen language, not the app's.
        caller = await caller_of(context, user)
        role = "admin" if caller.admin else "instructor" if caller.instructor else "student"
        with contextlib.suppress(TelegramError):
            await set_menu(context.bot, user.id, caller.admin, action.slug, role)
    t = translator(action.slug)
    log.info("chat %s: language %s", chat.id if chat else user.id, action.slug)
    await query.answer(t.gettext("Saved."))
    text = t.gettext("🌐 From now on I speak English here.")
    with contextlib.suppress(TelegramError):
        await query.edit_message_text(text, reply_markup=language_keyboard(action.slug))
