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
from telegram.error import Forbidden

from bot.i18n import Translator, pick_language, translator
from bot.quiz import zones
from bot.quiz.habits import REMIND_DEFAULT, ReminderSetting, parse_time
from bot.quiz.timers import Timer
from bot.telegram import callbacks, render, timers
from bot.telegram.context import AnyApp, QuizContext, player_of, reply, services, services_of, tr
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
    arm_reminder(context.application, await habits.set_zone(player, zone))
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
    moved = await services(context).habits.set_zone(player_of(user), zone)
    arm_reminder(context.application, moved)
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


# --------------------------------------------------------------------------- reminders


def arm_reminder(app: AnyApp, setting: ReminderSetting | None) -> None:
    """Ring this worker's alarm for a reminder that was set or moved (any worker's poll takes
    it over if this one stops)."""
    if setting is not None and setting.next_at is not None:
        timers.arm(app, setting.key, setting.next_at)


def _reminder_text(t: Translator, setting: ReminderSetting) -> str:
    if setting.at is None:
        return t.gettext(
            "⏰ Review reminders are off. /remind turns them on (at {time} your time), or "
            "/remind 08:00 at another time.",
            time=REMIND_DEFAULT,
        )
    text = t.gettext(
        "⏰ Every day at <b>{time}</b> your time I will tell you when questions are due for "
        "review (nothing is sent on days with none). /remind 08:00 changes the time, "
        "/remind off stops it.",
        time=setting.at,
    )
    if setting.zone is None:
        text += "\n\n" + t.gettext(
            "Your time zone is not set, so that is {time} UTC: /timezone sets yours.",
            time=setting.at,
        )
    return text


async def remind_command(update: Update, context: QuizContext) -> None:
    """``/remind [HH:MM]`` turns the daily review reminder on (at 18:00 your time without a
    time; alone, with reminders already on, it shows the setting); ``/remind off`` stops it.
    In a group: a pointer to the private chat (reminders are personal)."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    t = await tr(update, context)
    if chat.type != ChatType.PRIVATE:
        await reply(
            update, t.gettext("Reminders are personal: send /remind to me in a private chat.")
        )
        return
    habits = services(context).habits
    player = player_of(user)
    typed = " ".join(context.args or []).strip()
    if typed.lower() in ("off", "stop", "no"):
        setting = await habits.set_reminder(player, None)
        timers.disarm(context.application, setting.key)
        await reply(update, _reminder_text(t, setting))
        return
    if not typed:
        setting = await habits.reminder(player)
        if setting.at is not None:
            await reply(update, _reminder_text(t, setting))
            return
        at: str | None = REMIND_DEFAULT
    else:
        at = parse_time(typed)
        if at is None:
            await reply(
                update,
                t.gettext(
                    "I need a time of day like /remind 18:00 or /remind 7:30, or /remind off."
                ),
            )
            return
    setting = await habits.set_reminder(player, at, t.language)
    arm_reminder(context.application, setting)
    log.info("user %s: reminders at %s", user.id, at)
    await reply(update, _reminder_text(t, setting))


async def fire_reminder(app: AnyApp, timer: Timer) -> None:
    """A reminder timer is due (claimed by this worker): the next one is set first, then one
    message if review items are due, with a Review now button; Telegram's Forbidden (the
    user blocked the bot) stops reminders for that user for good."""
    habits = services_of(app).habits
    due = await habits.take_reminder(timer.payload)
    if due is None:
        return
    timers.arm(app, due.key, due.next_at)
    if not due.due:
        return
    t = translator(pick_language(due.language, None, False))
    text = t.ngettext(
        "⏰ {n} question is due for review. A few minutes now keep it fresh.",
        "⏰ {n} questions are due for review. A few minutes now keep them fresh.",
        due.due,
    )
    button = render.keyboard([[(t.gettext("🔁 Review now"), callbacks.review_due())]])
    try:
        # app.bot: through the application's rate limiter, like every other send.
        await app.bot.send_message(due.telegram_id, text, reply_markup=button)
    except Forbidden:
        log.info("user %s blocked the bot: reminders stopped", due.telegram_id)
        await habits.stop_reminders(due.user_id)
        timers.disarm(app, due.key)
