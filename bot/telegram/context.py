"""What every handler module shares: the services, the typed context, and the few helpers
that turn an update into a domain call (who is asking, which button) and a text into a reply.

Handlers import this module; it imports no handler module and not the composition root
(:mod:`bot.telegram.app`), so the adapter has no import circle.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telegram import Message, Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ExtBot, JobQueue

from bot.i18n import N_, Translator, pick_language, translator
from bot.quiz.boards import Boards
from bot.quiz.catalog import Catalog
from bot.quiz.classes import Classes
from bot.quiz.game import GameService
from bot.quiz.habits import Habits
from bot.quiz.packadmin import PackAdmin
from bot.quiz.players import Players
from bot.quiz.service import Player, QuizService
from bot.quiz.uploads import Uploads
from bot.settings import Settings
from bot.telegram import callbacks, render

if TYPE_CHECKING:  # types only: the adapter never touches the database itself
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


@dataclass
class Services:
    """Everything a handler needs, created once per process by ``build_application``.

    ``engine`` and ``sessionmaker`` are held for the composition root (start-up, shutdown)
    and the benchmark; handlers reach the database only through the domain services."""

    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    catalog: Catalog
    quiz: QuizService
    boards: Boards
    games: GameService
    players: Players
    clock: Callable[[], datetime]
    uploads: Uploads
    admin: PackAdmin
    habits: Habits
    classes: Classes
    extras: dict[str, Any] = field(default_factory=dict)
    store_ready: bool = False
    """The schema is upgraded and the content folder imported (once per process)."""


class BotData:
    """The typed ``context.bot_data``: it holds the services (set by build_application)."""

    services: Services


QuizContext = CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], BotData]
AnyApp = Application[Any, Any, Any, Any, Any, Any]
"""What a handler's ``context.application`` is typed as."""

QuizApp = Application[
    ExtBot[None], QuizContext, dict[Any, Any], dict[Any, Any], BotData, JobQueue[QuizContext]
]


def services(context: QuizContext) -> Services:
    """The process's services, from a handler's context."""
    return context.bot_data.services


def services_of(application: AnyApp) -> Services:
    """The process's services, from the application (timers, start-up)."""
    found: Services = application.bot_data.services
    return found


def player_of(user: User) -> Player:
    """The domain's view of a Telegram user."""
    return Player(telegram_id=user.id, name=user.full_name or str(user.id), username=user.username)


async def reply(update: Update, text: str, **kwargs: Any) -> Message | None:
    """Reply in the update's chat with HTML text (the application's default parse mode),
    cut to Telegram's limit."""
    chat = update.effective_chat
    if chat is None:
        return None
    return await chat.send_message(render.fit(text), **kwargs)


def chat_id_of(update: Update) -> int:
    """The chat an update came from (a button press on an inline message: the presser's)."""
    chat = update.effective_chat
    if chat is not None:
        return chat.id
    assert update.effective_user is not None
    return update.effective_user.id


async def tr(update: Update, context: QuizContext) -> Translator:
    """The language to answer ``update`` in: in a private chat the user's /language choice,
    else their Telegram language when shipped; in a group the group's choice; else English.
    One indexed read per update, so a choice made on any worker applies at once."""
    user, chat = update.effective_user, update.effective_chat
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    chosen = await services(context).quiz.chosen_language(
        user.id if user is not None else None, chat.id if in_group and chat else None
    )
    return translator_for(update, chosen)


def translator_for(update: Update, chosen: str | None) -> Translator:
    """:func:`tr` with the /language choice already read (``chosen``: the group's in a group,
    else the user's), by a domain call that read it in its own unit of work."""
    user, chat = update.effective_user, update.effective_chat
    in_group = chat is not None and chat.type != ChatType.PRIVATE
    code = user.language_code if user is not None else None
    return translator(pick_language(chosen, code, in_group))


async def drop_buttons(bot: Any, chat_id: int, message_id: int) -> None:
    """Take the buttons off a message whose buttons would only refuse from now on."""
    # Already gone or not modified: nothing to tidy up.
    with contextlib.suppress(BadRequest):
        await bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)


async def group_tr(application: AnyApp, chat_id: int) -> Translator:
    """The language of a group chat, for messages no update asked for (game timers)."""
    chosen = await services_of(application).quiz.chosen_language(None, chat_id)
    return translator(pick_language(chosen, None, group=True))


INVALID_BUTTON = N_("This button is no longer valid.")


async def pressed(update: Update, context: QuizContext) -> callbacks.Action | None:
    """The action a pressed button names, checked by :func:`callbacks.parse`; a forged or
    malformed one is answered here (and None returned), so a handler only sees valid shapes.
    What the action names (run, item, owner) is then checked by the domain."""
    query = update.callback_query
    if query is None or update.effective_user is None:
        return None
    action = callbacks.parse(query.data)
    if action is None:
        await query.answer((await tr(update, context)).gettext(INVALID_BUTTON))
    return action


async def invalid_button(update: Update, context: QuizContext) -> None:
    """Any button no other handler's pattern matched: forged, or from an older version."""
    if update.callback_query is not None:
        await update.callback_query.answer((await tr(update, context)).gettext(INVALID_BUTTON))
