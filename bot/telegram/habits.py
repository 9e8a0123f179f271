"""The habit loop in Telegram: /timezone (and a shared location), /remind and the daily
review reminders, streaks and leeches in words.

A zone is whatever :func:`bot.quiz.zones.parse_zone` accepts; a location shared in a private
chat sets the zone of the nearest principal city, and the reply names it so the user can
correct it. In a group only an administrator (asked with ``getChatMember``) sets the group's
zone.
"""

from __future__ import annotations

import logging

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.constants import ChatType

from bot.i18n import Translator
from bot.quiz import zones
from bot.telegram import render
from bot.telegram.context import QuizContext, player_of, reply, services, tr
from bot.telegram.languages import is_group_admin
from bot.text import shorten

log = logging.getLogger("quizbot.telegram")


# --------------------------------------------------------------------------- time zones


def _now_in(context: QuizContext, zone: str | None) -> str:
    return zones.local_time(services(context).clock(), zone).strftime("%H:%M")


def _how_to_set(t: Translator, in_group: bool) -> str:
    if in_group:
        return t.gettext(
            "A group admin can set it: /timezone Kyiv, /timezone +3 or /timezone Europe/Kyiv."
        )
    return t.gettext(
        "To set it, send /timezone with a city (/timezone Kyiv), an offset (/timezone +3) or "
        "a zone name (/timezone Europe/Kyiv), or share your location with the button below."
    )


def _location_keyboard(t: Translator) -> ReplyKeyboardMarkup:
    button = KeyboardButton(t.gettext("📍 Share my location"), request_location=True)
    return ReplyKeyboardMarkup([[button]], resize_keyboard=True, one_time_keyboard=True)


def _unknown_zone(t: Translator, typed: str) -> str:
    return t.gettext(
        "I don't know the time zone “{typed}”. Try a city (Kyiv, Los Angeles), an offset "
        "(+3, UTC-7) or a zone name (Europe/Kyiv).",
        typed=render.esc(shorten(typed, 64)),
    )


async def timezone_command(update: Update, context: QuizContext) -> None:
    """``/timezone``: show the zone and how to set it; ``/timezone <zone>`` sets it (in a
    group, the group's, by an administrator only)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    t = await tr(update, context)
    habits = services(context).habits
    typed = " ".join(context.args or []).strip()
    if chat.type != ChatType.PRIVATE:
        if not typed:
            zone = await habits.chat_zone(chat.id)
            await reply(update, _group_zone_text(t, zone, _now_in(context, zone)))
            return
        if not await is_group_admin(context, chat.id, user.id):
            await reply(update, t.gettext("Only a group admin can change this group's time zone."))
            return
        zone = zones.parse_zone(typed)
        if zone is None:
            await reply(update, _unknown_zone(t, typed))
            return
        await habits.set_chat_zone(chat.id, chat.type, chat.title, zone)
        log.info("chat %s: time zone %s", chat.id, zone)
        await reply(
            update,
            t.gettext(
                "🕒 This group's time zone is now <b>{zone}</b> (the time there: {time}).",
                zone=render.esc(zone),
                time=_now_in(context, zone),
            ),
        )
        return
    player = player_of(user)
    if not typed:
        zone = await habits.zone_of(player)
        if zone is None:
            shown = t.gettext(
                "🕒 You have not set a time zone, so I use UTC (now {time} UTC) for your days, "
                "streaks and reminders.",
                time=_now_in(context, None),
            )
        else:
            shown = t.gettext(
                "🕒 Your time zone: <b>{zone}</b> (your time now: {time}).",
                zone=render.esc(zone),
                time=_now_in(context, zone),
            )
        await reply(
            update, shown + "\n\n" + _how_to_set(t, False), reply_markup=_location_keyboard(t)
        )
        return
    zone = zones.parse_zone(typed)
    if zone is None:
        await reply(update, _unknown_zone(t, typed))
        return
    await habits.set_zone(player, zone)
    await reply(
        update,
        t.gettext(
            "🕒 Time zone set: <b>{zone}</b> (your time now: {time}).",
            zone=render.esc(zone),
            time=_now_in(context, zone),
        ),
        reply_markup=ReplyKeyboardRemove(),
    )


def _group_zone_text(t: Translator, zone: str | None, now: str) -> str:
    if zone is None:
        shown = t.gettext(
            "🕒 This group has no time zone set, so I use UTC (now {time} UTC).", time=now
        )
    else:
        shown = t.gettext(
            "🕒 This group's time zone: <b>{zone}</b> (the time there: {time}).",
            zone=render.esc(zone),
            time=now,
        )
    return shown + "\n\n" + _how_to_set(t, True)


async def location_message(update: Update, context: QuizContext) -> None:
    """A location shared in a private chat: the zone of the nearest principal city, named so
    the user can correct it."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None or message.location is None:
        return
    t = await tr(update, context)
    zone = zones.zone_at(message.location.latitude, message.location.longitude)
    await services(context).habits.set_zone(player_of(user), zone)
    await reply(
        update,
        t.gettext(
            "🕒 From your location, your time zone is <b>{zone}</b> (your time now: {time}). "
            "Not right? Send /timezone with your city or offset, e.g. /timezone +2.",
            zone=render.esc(zone),
            time=_now_in(context, zone),
        ),
        reply_markup=ReplyKeyboardRemove(),
    )
