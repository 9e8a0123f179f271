"""What every instructor tool shares: who is asking (and their roles), the polite refusal,
the pack an argument names, and replies split into several messages.

Admins are the Telegram ids in ``QUIZBOT_ADMIN_IDS``; instructors are granted by an admin
(``/grant``) and stored in the ``roles`` table. An instructor manages the packs they published;
an admin manages every pack. Anyone else gets a polite refusal, nothing changes, and the
attempt is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from telegram import Update, User
from telegram.constants import MessageLimit

from bot.store.models import PackRow
from bot.telegram import render
from bot.telegram.context import QuizContext, player_of, reply, services

log = logging.getLogger("quizbot.instructor")


MESSAGE_PARTS = 3
"""Most messages one reply is split into; what does not fit is counted, not sent."""


DOCUMENT_LIMIT = 50 * 1024 * 1024
"""Largest file a bot may send (Bot API)."""


@dataclass(frozen=True)
class Caller:
    """The Telegram user behind an update, with their roles."""

    user_id: int
    telegram_id: int
    name: str
    admin: bool
    instructor: bool

    @property
    def staff(self) -> bool:
        return self.admin or self.instructor

    def may_manage(self, owner_id: int | None) -> bool:
        """Admins manage every pack; instructors the packs they published."""
        return self.admin or (owner_id is not None and owner_id == self.user_id)


async def caller_of(context: QuizContext, user: User) -> Caller:
    svc = services(context)
    user_id = await svc.quiz.register(player_of(user))
    instructor = await svc.admin.is_instructor(user_id)
    admin = user.id in svc.settings.admin_ids
    return Caller(user_id, user.id, user.full_name or str(user.id), admin, instructor)


async def refuse(update: Update, caller: Caller, what: str, admins_only: bool = False) -> None:
    """Politely say no, change nothing, and log the attempt."""
    log.warning(
        "refused %s to Telegram user %s (%s): %s",
        what,
        caller.telegram_id,
        caller.name,
        "not an admin" if admins_only else "not an instructor",
    )
    if admins_only:
        text = "Sorry, only an admin of this bot can grant or revoke the instructor role."
    else:
        text = (
            f"Sorry, {render.esc(what)} is for instructors. If you teach with this bot, "
            "ask its admin to give you the instructor role. Send /help for what you can do."
        )
    if update.callback_query is not None:
        await update.callback_query.answer(text[:190], show_alert=True)
    else:
        await reply(update, text)


async def staff_only(update: Update, context: QuizContext, what: str) -> Caller | None:
    """The caller if they are an instructor or an admin; otherwise refuse and return None."""
    user = update.effective_user
    if user is None:
        return None
    caller = await caller_of(context, user)
    if not caller.staff:
        await refuse(update, caller, what)
        return None
    return caller


def paginate(
    header: str,
    blocks: Sequence[str],
    unit: Callable[[int], str],
    footer: str = "",
    limit: int = MessageLimit.MAX_TEXT_LENGTH,
    max_parts: int = MESSAGE_PARTS,
) -> tuple[list[str], int]:
    """Messages of at most ``limit`` characters: ``header``, then as many ``blocks`` as fit in
    ``max_parts`` messages, then ``footer``. Blocks that do not fit are counted in a last line
    (``unit(n)`` names them); returns the messages and that count. Each block must be shorter
    than ``limit`` minus the room kept for the count and the footer."""
    room = limit - len(footer) - 80
    parts: list[str] = [header]
    left_out = 0
    for index, block in enumerate(blocks):
        if len(parts[-1]) + 1 + len(block) <= room:
            parts[-1] = f"{parts[-1]}\n{block}" if parts[-1] else block
        elif len(parts) < max_parts:
            parts.append(block)
        else:
            left_out = len(blocks) - index
            parts[-1] += f"\n… and {unit(left_out)} more, not shown."
            break
    if footer:
        parts[-1] += "\n\n" + footer
    return parts, left_out


def plural(word: str) -> Callable[[int], str]:
    return lambda n: f"{n} {word}{'' if n == 1 else 's'}"


async def send_parts(update: Update, parts: Sequence[str], markup: Any = None) -> None:
    """Send the parts in order; ``markup`` (a keyboard) goes on the last one."""
    for number, part in enumerate(parts, start=1):
        await reply(update, part, reply_markup=markup if number == len(parts) else None)


def size_text(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:,.0f} KB"
    return f"{size / (1024 * 1024):,.1f} MB"


def deep_link(context: QuizContext, slug: str) -> str:
    return f"https://t.me/{context.bot.username}?start={slug}"


async def pack_for(
    update: Update,
    context: QuizContext,
    caller: Caller,
    command: str,
    usage: str = "",
    active_ones: bool = False,
) -> PackRow | None:
    """The pack named in the command's first argument, if the caller may manage it (or, with
    ``active_ones``, if it is active: what students see); else reply. ``usage`` replaces the
    usage line, for commands that take more arguments (they are checked by the caller)."""
    args = context.args or []
    if len(args) != 1 and not (usage and args):
        text = usage or f"Usage: /{command} <i>pack</i> (see /mypacks for yours)."
        await reply(update, text)
        return None
    slug = args[0].strip().lower()
    row = await services(context).admin.find(slug)
    if row is None:
        await reply(update, f"There is no pack called <b>{render.esc(slug)}</b>. See /mypacks.")
        return None
    if not caller.may_manage(row.owner_id) and not (active_ones and row.status == "active"):
        log.warning(
            "refused /%s %s to Telegram user %s: not the owner", command, slug, caller.telegram_id
        )
        whose = "the bot's operator" if row.owner_id is None else "another instructor"
        await reply(
            update,
            f"The pack <code>{render.esc(slug)}</code> belongs to {whose}; only they or an "
            "admin can do that. See /mypacks for yours.",
        )
        return None
    return row
