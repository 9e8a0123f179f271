"""The habit loop (issue 16): /timezone and shared locations, streaks of local days with a
freeze, review reminders on timers, and leeches; through process_update on SQLite and
PostgreSQL with a fake clock."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import make_sessionmaker
from bot.store.models import Chat, User
from botkit import Harness, user

ANN = user(101, "Ann")
BOB = user(102, "Bob")
GROUP = -500


def texts(calls: list[Any]) -> str:
    return "\n".join(str(c.params.get("text", "")) for c in calls)


async def user_zone(engine: AsyncEngine, telegram_id: int) -> str | None:
    async with make_sessionmaker(engine)() as session:
        return (
            await session.execute(select(User.timezone).where(User.telegram_id == telegram_id))
        ).scalar_one_or_none()


async def chat_zone(engine: AsyncEngine, chat_id: int) -> str | None:
    async with make_sessionmaker(engine)() as session:
        return (
            await session.execute(select(Chat.timezone).where(Chat.id == chat_id))
        ).scalar_one_or_none()


# --------------------------------------------------------------------------- /timezone


async def test_timezone_unset_says_utc_and_how_to_set(bot: Harness) -> None:
    calls = await bot.text(ANN, "/timezone")
    text = texts(calls)
    assert "You have not set a time zone, so I use UTC (now 09:00 UTC)" in text
    assert "/timezone Kyiv" in text
    markup = calls[-1].params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    assert markup["keyboard"][0][0]["request_location"] is True


async def test_timezone_by_city_offset_and_name(bot: Harness, engine: AsyncEngine) -> None:
    calls = await bot.text(ANN, "/timezone Kyiv")
    assert "Time zone set: <b>Europe/Kyiv</b> (your time now: 11:00)" in texts(calls)
    assert await user_zone(engine, 101) == "Europe/Kyiv"
    calls = await bot.text(ANN, "/timezone")
    assert "Your time zone: <b>Europe/Kyiv</b> (your time now: 11:00)" in texts(calls)
    await bot.text(ANN, "/timezone UTC-7")
    assert await user_zone(engine, 101) == "UTC-07:00"
    await bot.text(ANN, "/timezone america/los_angeles")
    assert await user_zone(engine, 101) == "America/Los_Angeles"
    calls = await bot.text(ANN, "/timezone Los Angeles")
    assert "(your time now: 01:00)" in texts(calls)


async def test_unknown_zone_changes_nothing(bot: Harness, engine: AsyncEngine) -> None:
    await bot.text(ANN, "/timezone Kyiv")
    for typed in ("Atlantis", "+15", "<b>x</b>"):
        calls = await bot.text(ANN, f"/timezone {typed}")
        assert "I don't know the time zone" in texts(calls)
    assert "&lt;b&gt;x&lt;/b&gt;" in texts(calls)
    assert await user_zone(engine, 101) == "Europe/Kyiv"


async def test_a_shared_location_sets_the_zone_and_names_it(
    bot: Harness, engine: AsyncEngine
) -> None:
    # Kharkiv: the nearest principal city of the tz database is Kyiv.
    calls = await bot.send(bot.updates.message(ANN, None, location=(49.99, 36.23)))
    text = texts(calls)
    assert "From your location, your time zone is <b>Europe/Kyiv</b>" in text
    assert "/timezone" in text
    assert await user_zone(engine, 101) == "Europe/Kyiv"
    # Lviv is nearer Warsaw than Kyiv: the reply names the zone, and the user corrects it.
    calls = await bot.send(bot.updates.message(ANN, None, location=(49.84, 24.03)))
    assert "<b>Europe/Warsaw</b>" in texts(calls)
    await bot.text(ANN, "/timezone Kyiv")
    assert await user_zone(engine, 101) == "Europe/Kyiv"
    # San Francisco: Los Angeles.
    await bot.send(bot.updates.message(ANN, None, location=(37.77, -122.42)))
    assert await user_zone(engine, 101) == "America/Los_Angeles"


async def test_group_timezone_only_by_an_admin(bot: Harness, engine: AsyncEngine) -> None:
    calls = await bot.text(ANN, "/timezone", chat_id=GROUP)
    assert "This group has no time zone set, so I use UTC" in texts(calls)
    calls = await bot.text(BOB, "/timezone Kyiv", chat_id=GROUP)
    assert "Only a group admin can change this group's time zone." in texts(calls)
    assert await chat_zone(engine, GROUP) is None
    bot.api.administrators[GROUP] = {101}
    calls = await bot.text(ANN, "/timezone Nowhere", chat_id=GROUP)
    assert "I don't know the time zone" in texts(calls)
    assert await chat_zone(engine, GROUP) is None
    calls = await bot.text(ANN, "/timezone +3", chat_id=GROUP)
    assert "This group's time zone is now <b>UTC+03:00</b> (the time there: 12:00)" in texts(calls)
    assert await chat_zone(engine, GROUP) == "UTC+03:00"
    # A group's zone is not its members' own.
    assert await user_zone(engine, 101) is None
    calls = await bot.text(BOB, "/timezone", chat_id=GROUP)
    assert "This group's time zone: <b>UTC+03:00</b>" in texts(calls)


async def test_timezone_is_in_the_menus(bot: Harness) -> None:
    for call in bot.api.sent("setMyCommands"):
        commands = call.params["commands"]
        commands = json.loads(commands) if isinstance(commands, str) else commands
        assert "timezone" in {c["command"] for c in commands}
