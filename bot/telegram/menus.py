"""The command menus: one for private chats, one for groups, and one per instructor or
admin (set per chat, so students never see the instructor tools)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import TelegramError

from bot.telegram.context import AnyApp, services_of

log = logging.getLogger("quizbot.telegram")

PRIVATE_COMMANDS = [
    ("start", "Welcome and the list of quizzes"),
    ("quiz", "Start or continue a quiz: /quiz [pack]"),
    ("packs", "The published quizzes"),
    ("read", "Read the article: /read [pack]"),
    ("skip", "Skip the current question"),
    ("review", "Re-ask the questions you missed, when due"),
    ("stop", "Stop the current quiz"),
    ("score", "Your scores per quiz"),
    ("leaderboard", "Rankings: /leaderboard [week|all] [pack]"),
    ("settings", "Privacy: show or hide me on leaderboards"),
    ("help", "How this bot works"),
]
INSTRUCTOR_COMMANDS = [
    *PRIVATE_COMMANDS,
    ("mypacks", "Instructor: your packs and their status"),
    ("stats", "Instructor: item analysis of a pack: /stats pack"),
    ("export", "Instructor: results CSV, or /export pack moodle|gift|aiken|anki|yaml"),
    ("draft", "Instructor: a draft pack from an article .txt sent with /draft"),
    ("hide", "Instructor: hide a pack from students: /hide pack"),
    ("show", "Instructor: show a hidden pack again: /show pack"),
    ("retire", "Instructor: retire a pack for good: /retire pack"),
    ("instructor", "Instructor: how to publish a pack"),
]
"""The menu of instructors' private chats (set per chat, so students never see it)."""
ADMIN_COMMANDS = [
    *INSTRUCTOR_COMMANDS,
    ("grant", "Admin: make someone an instructor: /grant user-id"),
    ("revoke", "Admin: take the instructor role away: /revoke user-id"),
]
GROUP_COMMANDS = [
    ("quiz", "Open a game lobby: /quiz [pack]"),
    ("stop", "End the game now"),
    ("leaderboard", "This chat's ranking: /leaderboard [week|all] [pack]"),
    ("help", "How group games work"),
]


def _commands(pairs: list[tuple[str, str]]) -> list[BotCommand]:
    return [BotCommand(command, description) for command, description in pairs]


async def set_default_menus(bot: Any) -> None:
    """The menus every private chat and every group sees."""
    await bot.set_my_commands(_commands(PRIVATE_COMMANDS), scope=BotCommandScopeAllPrivateChats())
    await bot.set_my_commands(_commands(GROUP_COMMANDS), scope=BotCommandScopeAllGroupChats())


async def set_menu(bot: Any, telegram_id: int, admin: bool) -> None:
    """Give one instructor (or admin) the instructor command menu in their private chat."""
    commands = ADMIN_COMMANDS if admin else INSTRUCTOR_COMMANDS
    await bot.set_my_commands(_commands(commands), scope=BotCommandScopeChat(telegram_id))


async def drop_menu(bot: Any, telegram_id: int) -> None:
    """Back to the students' menu (an instructor whose role was revoked)."""
    await bot.delete_my_commands(scope=BotCommandScopeChat(telegram_id))


async def set_menus(application: AnyApp) -> int:
    """At start-up: the instructor menu for every instructor and admin the bot has met."""
    svc = services_of(application)
    admins = set(svc.settings.admin_ids)
    holders = await svc.admin.holders()
    known_admins = await svc.admin.known_telegram_ids(sorted(admins))
    targets = {h.telegram_id: False for h in holders if h.telegram_id is not None}
    targets.update({int(t): True for t in known_admins if t is not None})
    done = 0
    for telegram_id, admin in sorted(targets.items()):
        try:
            await set_menu(application.bot, telegram_id, admin)
            done += 1
        except TelegramError as exc:
            log.info("no instructor menu for %s: %s", telegram_id, exc)
    return done
