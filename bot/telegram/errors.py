"""The error handler: every failure is logged with its update id (a store that is out of
reach, read-only or full in one line that names it), and the user gets a short apology,
never a traceback."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatType
from telegram.error import BadRequest, Forbidden

from bot.i18n import pick_language, translator
from bot.quiz.players import STORE_ERRORS, is_outage
from bot.store import describe_error
from bot.telegram.context import QuizContext, services

log = logging.getLogger("quizbot.telegram")


async def on_error(update: object, context: QuizContext) -> None:
    """Log every failure with its update id; the user gets a short apology, never a
    traceback. A user who blocked the bot is marked inactive, quietly."""
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        user = update.effective_user if isinstance(update, Update) else None
        log.info(
            "update %s: user %s blocked the bot; marked inactive",
            update_id,
            user.id if user else "?",
        )
        if user is not None:
            try:
                await services(context).players.set_active(user.id, False)
            except STORE_ERRORS:
                log.warning("update %s: could not mark user %s inactive", update_id, user.id)
        return
    if is_outage(error):
        # The store is out of reach, read-only or full: one line that names it (a traceback
        # per update would bury it), and the user is told that nothing was saved.
        log.error("update %s failed: %s", update_id, describe_error(error or Exception()))
    else:
        log.error("update %s failed", update_id, exc_info=error)
    if not isinstance(update, Update):
        return
    # Not the stored choice: the database may be what failed. Telegram's language is at hand.
    user, chat = update.effective_user, update.effective_chat
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    t = translator(pick_language(None, user.language_code if user else None, in_group))
    if is_outage(error):
        text = t.gettext(
            "⚠️ The quiz store is unavailable right now, so nothing was saved. "
            "Please try again in a minute."
        )
    else:
        text = t.gettext("😕 Sorry, something went wrong on our side. Please try again.")
    try:
        if update.callback_query is not None:
            try:
                await update.callback_query.answer(text[:190], show_alert=True)
                return
            except BadRequest:  # the press was already answered: say it in the chat
                pass
        if update.effective_chat is not None:
            await update.effective_chat.send_message(text)
    except Exception:
        log.warning("update %s: could not send the apology", update_id)
