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

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, translator
from bot.telegram.context import AnyApp, services_of

log = logging.getLogger("quizbot.telegram")

PRIVATE_COMMANDS = [
    ("start", N_("Welcome and the list of quizzes")),
    ("quiz", N_("Start or continue a quiz: /quiz [pack]")),
    ("packs", N_("The published quizzes")),
    ("read", N_("Read the article: /read [pack]")),
    ("skip", N_("Skip the current question")),
    ("review", N_("Re-ask the questions you missed, when due")),
    ("remind", N_("A daily reminder when reviews are due: /remind 18:00, /remind off")),
    ("stop", N_("Stop the current quiz")),
    ("score", N_("Your scores per quiz")),
    ("leaderboard", N_("Rankings: /leaderboard [week|all] [pack]")),
    ("settings", N_("Privacy: show or hide me on leaderboards")),
    ("language", N_("Change the language I speak")),
    ("timezone", N_("Your time zone: /timezone city, +3 or a shared location")),
    ("help", N_("How this bot works")),
]
INSTRUCTOR_COMMANDS = [
    *PRIVATE_COMMANDS,
    ("mypacks", N_("Instructor: your packs and their status")),
    ("stats", N_("Instructor: item analysis of a pack: /stats pack")),
    ("export", N_("Instructor: results CSV, or /export pack moodle|gift|aiken|anki|yaml")),
    ("draft", N_("Instructor: a draft pack from an article .txt sent with /draft")),
    ("hide", N_("Instructor: hide a pack from students: /hide pack")),
    ("show", N_("Instructor: show a hidden pack again: /show pack")),
    ("retire", N_("Instructor: retire a pack for good: /retire pack")),
    ("assignments", N_("Instructor: your classes' assignments, with names")),
    ("report", N_("Instructor: a class report: /report number [csv]")),
    ("instructor", N_("Instructor: how to publish a pack")),
]
"""The menu of instructors' private chats (set per chat, so students never see it)."""
ADMIN_COMMANDS = [
    *INSTRUCTOR_COMMANDS,
    ("grant", N_("Admin: make someone an instructor: /grant user-id")),
    ("revoke", N_("Admin: take the instructor role away: /revoke user-id")),
]
GROUP_COMMANDS = [
    ("quiz", N_("Open a game lobby: /quiz [pack]")),
    ("stop", N_("End the game now")),
    ("leaderboard", N_("This chat's ranking: /leaderboard [week|all] [pack]")),
    ("assignments", N_("This class's assignments: done, started, not started")),
    ("assign", N_("Instructors: give this class a quiz: /assign pack [due]")),
    ("language", N_("Admins: the language I speak in this group")),
    ("timezone", N_("This group's time zone (admins set it: /timezone city)")),
    ("help", N_("How group games work")),
]


def _commands(pairs: list[tuple[str, str]], language: str) -> list[BotCommand]:
    t = translator(language)
    return [BotCommand(command, t.gettext(description)) for command, description in pairs]


def _variants(chosen: str | None = None) -> list[tuple[str | None, str]]:
    """(``language_code`` of the Bot API call, language of the texts) for every shipped
    language: English is the default (no code: every other app language gets it). With a
    ``chosen`` language (a per-chat menu), every variant speaks it."""
    return [(None if code == DEFAULT_LANGUAGE else code, chosen or code) for code in LANGUAGES]


async def set_default_menus(bot: Any) -> None:
    """The menus every private chat and every group sees, in each shipped language (Telegram
    shows the one of the user's app language)."""
    for code, language in _variants():
        await bot.set_my_commands(
            _commands(PRIVATE_COMMANDS, language),
            scope=BotCommandScopeAllPrivateChats(),
            language_code=code,
        )
        await bot.set_my_commands(
            _commands(GROUP_COMMANDS, language),
            scope=BotCommandScopeAllGroupChats(),
            language_code=code,
        )


def _menu_of(role: str) -> list[tuple[str, str]]:
    return {"admin": ADMIN_COMMANDS, "instructor": INSTRUCTOR_COMMANDS}.get(role, PRIVATE_COMMANDS)


async def set_menu(
    bot: Any, telegram_id: int, admin: bool, chosen: str | None = None, role: str | None = None
) -> None:
    """Give one instructor (or admin) the instructor command menu in their private chat, in
    each shipped language, or all in ``chosen`` (their /language); ``role="student"`` sets
    the students' menu in ``chosen`` for that chat."""
    commands = _menu_of(role or ("admin" if admin else "instructor"))
    for code, language in _variants(chosen):
        await bot.set_my_commands(
            _commands(commands, language),
            scope=BotCommandScopeChat(telegram_id),
            language_code=code,
        )


async def drop_menu(bot: Any, telegram_id: int) -> None:
    """Back to the students' menu (an instructor whose role was revoked)."""
    for code, _language in _variants():
        await bot.delete_my_commands(scope=BotCommandScopeChat(telegram_id), language_code=code)


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
            chosen = await svc.quiz.chosen_language(telegram_id, None)
            await set_menu(application.bot, telegram_id, admin, chosen)
            done += 1
        except TelegramError as exc:
            log.info("no instructor menu for %s: %s", telegram_id, exc)
    return done
