"""The error handler: every failure is logged with its update id, and the user gets a short
apology, never a traceback."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, Forbidden

from bot.quiz.players import STORE_ERRORS, is_outage
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
    log.error("update %s failed", update_id, exc_info=error)
    if not isinstance(update, Update):
        return
    if is_outage(error):
        text = (
            "⚠️ The quiz store is unavailable right now, so nothing was saved. "
            "Please try again in a minute."
        )
    else:
        text = "😕 Sorry, something went wrong on our side. Please try again."
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
