"""The habit loop (issue 16): /timezone and shared locations, streaks of local days with a
freeze, review reminders on timers, and leeches; through process_update on SQLite and
PostgreSQL with a fake clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import BaseRateLimiter
from test_bot_private import answer_correctly, next_data

from bot.quiz.habits import full_quote, next_reminder, parse_time, streak_of
from bot.store import make_sessionmaker
from bot.store.models import Chat, Timer, User
from bot.telegram.app import build_application, startup
from bot.testing.offline import OfflineRequest
from botkit import Clock, Harness, make_settings, start_harness, user, write_mini_pack

ANN = user(101, "Ann")
BOB = user(102, "Bob")
CY = user(103, "Cy")
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


# --------------------------------------------------------------------------- streaks


def days_ago(today: date, *offsets: int) -> list[date]:
    return [today - timedelta(days=n) for n in offsets]


def test_streak_counts_days_in_a_row() -> None:
    today = date(2026, 11, 20)
    assert (streak_of([], today).current, streak_of([], today).longest) == (0, 0)
    run = streak_of(days_ago(today, 0, 1, 2, 5, 6), today)
    assert (run.current, run.longest, run.answered_today) == (3, 3, True)
    # Not yet broken: today can still continue it.
    waiting = streak_of(days_ago(today, 1, 2), today)
    assert (waiting.current, waiting.answered_today) == (2, False)
    # Two missed days in a row end it; the longest stays.
    broken = streak_of(days_ago(today, 3, 4, 5), today)
    assert (broken.current, broken.longest) == (0, 3)


def test_one_missed_day_a_week_is_forgiven() -> None:
    today = date(2026, 11, 20)
    # Missed 2 days ago: forgiven; forgiven days keep the streak, they do not add to it.
    frozen = streak_of(days_ago(today, 0, 1, 3, 4), today)
    assert (frozen.current, frozen.freeze_this_week) == (4, True)
    # Two single misses 4 days apart: only the older is forgiven, the newer breaks it.
    second = streak_of(days_ago(today, 0, 1, 3, 4, 5, 7, 8), today)
    assert (second.current, second.longest) == (2, 5)
    # Seven days apart: both forgiven; only one of them in the last 7 days.
    apart = streak_of(days_ago(today, 0, 1, 2, 3, 4, 5, 6, 8, 9), today)
    assert apart.current == 9 and apart.freeze_this_week is False
    both = streak_of(days_ago(today, 0, 1, 2, 4, 5, 6, 7, 8, 9, 11), today)
    assert (both.current, both.freeze_this_week) == (10, True)
    # Yesterday missed, today not yet: alive, on a freeze.
    pending = streak_of(days_ago(today, 2, 3), today)
    assert (pending.current, pending.freeze_this_week) == (2, True)
    # ... but not when a day was already forgiven in the week.
    spent = streak_of(days_ago(today, 2, 3, 5, 6), today)
    assert spent.current == 0 and spent.longest == 4


class Player:
    """Answers one item of the article pack at a time (the next one each time)."""

    def __init__(self, bot: Harness, who: dict[str, Any]) -> None:
        self.bot, self.who = bot, who
        self.next: str | None = None

    async def answer(self) -> None:
        if self.next is None:
            await self.bot.text(self.who, "/quiz atacms-2024")
        else:
            await self.bot.press(self.who, self.next)
        self.next = next_data(await answer_correctly(self.bot, self.who))

    async def score(self) -> str:
        return texts(await self.bot.text(self.who, "/score"))


async def test_streaks_across_local_midnight_in_kyiv_and_los_angeles(bot: Harness) -> None:
    ann, bob, cy = Player(bot, ANN), Player(bot, BOB), Player(bot, CY)
    await bot.text(ANN, "/timezone Kyiv")  # UTC+2 in November
    await bot.text(BOB, "/timezone Los Angeles")  # UTC-8
    # Cy sets no zone: UTC days.
    bot.clock.now = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)  # Kyiv 23:30, LA 13:30
    for player in (ann, bob, cy):
        await player.answer()
    for player in (ann, bob, cy):
        assert "🔥 Streak: 1 day · longest: 1 day" in await player.score()
    bot.clock.advance(seconds=3600)  # Kyiv 00:30 the next day; LA 14:30 the same day
    for player in (ann, bob, cy):
        await player.answer()
    assert "🔥 Streak: 2 days · longest: 2 days" in await ann.score()
    assert "Days are counted in Europe/Kyiv." in await ann.score()
    assert "🔥 Streak: 1 day · longest: 1 day" in await bob.score()
    assert "🔥 Streak: 1 day" in await cy.score()
    assert "Days are counted in UTC" in await cy.score()
    bot.clock.now = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)  # LA 00:30 on the 21st
    await bob.answer()
    assert "🔥 Streak: 2 days" in await bob.score()
    # Ann answered on her 21st already; Cy has not answered on his 21st yet.
    assert "keep your streak going" not in await ann.score()
    assert "Answer a question today to keep your streak going" in await cy.score()

    # Ann misses her 22nd: forgiven on the 23rd, and shown as a freeze.
    bot.clock.now = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    assert "🔥 Streak: 2 days (1 freeze used this week 🧊)" in await ann.score()
    await ann.answer()
    assert "🔥 Streak: 3 days (1 freeze used this week 🧊) · longest: 3 days" in await ann.score()
    # She misses the 24th too: a second freeze within the week is not given.
    bot.clock.now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert "🔥 No streak right now · longest: 3 days" in await ann.score()


# --------------------------------------------------------------------------- reminders

REMINDER = "due for review. A few minutes now"


def test_reminder_times() -> None:
    assert [parse_time(t) for t in ("18:00", "7:30", "7.30", "7h30", "19", "0")] == [
        "18:00",
        "07:30",
        "07:30",
        "07:30",
        "19:00",
        "00:00",
    ]
    assert [parse_time(t) for t in ("24:00", "7:60", "7:5", "noon", "", "-1")] == [None] * 6
    now = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert next_reminder(now, "Europe/Kyiv", "18:00") == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assert next_reminder(now, "Europe/Kyiv", "08:00") == datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    assert next_reminder(now, None, "09:00") == datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    # Los Angeles, across the end of summer time (1 November 2026): 18:00 local each day.
    before = datetime(2026, 10, 31, 12, 0, tzinfo=UTC)
    first = next_reminder(before, "America/Los_Angeles", "18:00")
    assert first == datetime(2026, 11, 1, 1, 0, tzinfo=UTC)  # 18:00 PDT
    assert next_reminder(first, "America/Los_Angeles", "18:00") == datetime(
        2026, 11, 2, 2, 0, tzinfo=UTC
    )  # 18:00 PST


async def reminder_timers(engine: AsyncEngine) -> list[Timer]:
    async with make_sessionmaker(engine)() as session:
        rows = await session.execute(select(Timer).where(Timer.kind == "remind"))
        return list(rows.scalars())


async def user_row(engine: AsyncEngine, telegram_id: int) -> User:
    async with make_sessionmaker(engine)() as session:
        found = (
            await session.execute(select(User).where(User.telegram_id == telegram_id))
        ).scalar_one()
        return found


async def miss_one(bot: Harness, who: dict[str, Any] = ANN) -> list[Any]:
    """A run of the two-item pack: the first question skipped, the second answered; returns
    the calls of the last answer (the summary, and the offer of /remind the first time)."""
    await bot.text(who, "/quiz mini")
    calls = await bot.text(who, "/skip")
    await bot.press(who, next_data(calls) or "")
    return await bot.text(who, "Bloody Joe")


async def test_remind_on_off_and_bad_times(mini: Harness, engine: AsyncEngine) -> None:
    calls = await mini.text(ANN, "/remind 25:00")
    assert "I need a time of day like /remind 18:00" in texts(calls)
    assert await reminder_timers(engine) == []
    calls = await mini.text(ANN, "/remind")
    text = texts(calls)
    assert "Every day at <b>18:00</b> your time" in text
    assert "Your time zone is not set, so that is 18:00 UTC" in text
    (timer,) = await reminder_timers(engine)
    assert timer.due_at == datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    assert (await user_row(engine, 101)).remind_at == "18:00"
    # Setting the zone moves it to 18:00 in Kyiv.
    await mini.text(ANN, "/timezone Kyiv")
    (timer,) = await reminder_timers(engine)
    assert timer.due_at == datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    assert (timer.key, timer.due_at) in [(k, d) for k, d in mini.timers()]
    calls = await mini.text(ANN, "/remind")  # on already: shows the setting
    assert "Every day at <b>18:00</b>" in texts(calls) and "not set" not in texts(calls)
    await mini.text(ANN, "/remind 7:30")
    (timer,) = await reminder_timers(engine)
    assert timer.due_at == datetime(2026, 11, 21, 5, 30, tzinfo=UTC)
    calls = await mini.text(ANN, "/remind off")
    assert "Review reminders are off" in texts(calls)
    assert await reminder_timers(engine) == []
    assert (await user_row(engine, 101)).remind_at is None
    calls = await mini.text(ANN, "/remind", chat_id=GROUP)
    assert "Reminders are personal" in texts(calls)


async def test_offered_once_after_the_first_finished_run(mini: Harness) -> None:
    calls = await miss_one(mini)
    assert "Send /remind for a daily reminder" in texts(calls)
    calls = await miss_one(mini)
    assert "/remind" not in texts(calls)
    # Someone who turned reminders on before finishing a run is not offered them.
    await mini.text(BOB, "/remind 08:00")
    assert "/remind" not in texts(await miss_one(mini, BOB))


async def test_a_daily_reminder_when_reviews_are_due(mini: Harness, engine: AsyncEngine) -> None:
    await mini.text(ANN, "/timezone Kyiv")
    await mini.text(ANN, "/remind")
    # The first day nothing is due: no message, and the next day's reminder is set.
    mini.clock.now = datetime(2026, 11, 20, 16, 0, tzinfo=UTC)
    before = len(mini.api.calls)
    assert await mini.run_jobs() == 1
    assert [c.method for c in mini.api.calls[before:]] == []
    (timer,) = await reminder_timers(engine)
    assert timer.due_at == datetime(2026, 11, 21, 16, 0, tzinfo=UTC)
    await miss_one(mini)  # one item missed: due for review half an hour later
    mini.clock.now = datetime(2026, 11, 21, 16, 0, tzinfo=UTC)
    before = len(mini.api.calls)
    assert await mini.run_jobs() == 1
    sent = [c for c in mini.api.calls[before:] if c.method == "sendMessage"]
    assert len(sent) == 1
    assert sent[0].params["chat_id"] == 101
    assert "⏰ 1 question is due for review." in sent[0].params["text"]
    markup = sent[0].params["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    assert markup["inline_keyboard"][0][0]["callback_data"] == "rvd:due"
    (timer,) = await reminder_timers(engine)
    assert timer.due_at == datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    # Review now starts the review.
    calls = await mini.press(ANN, "rvd:due")
    assert "1 question is due for review" in texts(calls) and "Review 1 of 1" in texts(calls)


async def test_reminders_in_the_users_language(mini: Harness) -> None:
    uk = {**user(104, "Olena"), "language_code": "uk"}
    await mini.text(uk, "/remind 18:00")
    await miss_one(mini, uk)
    mini.clock.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    before = len(mini.api.calls)
    await mini.run_jobs()
    (sent,) = [c for c in mini.api.calls[before:] if c.method == "sendMessage"]
    assert "1 запитання" in sent.params["text"]


async def test_a_reminder_survives_a_restart_and_is_sent_once_by_two_workers(
    engine: AsyncEngine, clock: Clock, tmp_path: Path
) -> None:
    content = write_mini_pack(tmp_path)
    first = await start_harness(engine, clock, content=content)
    await first.text(ANN, "/remind 18:00")
    await miss_one(first)
    await first.app.shutdown()  # the bot stops with the reminder pending

    clock.now = datetime(2026, 11, 20, 18, 0, 30, tzinfo=UTC)  # and comes back after it
    one = await start_harness(engine, clock, content=content)
    two = await start_harness(engine, clock, content=content)
    try:
        assert "remind:1" in [key for key, _ in one.timers()]
        assert "remind:1" in [key for key, _ in two.timers()]
        await one.run_jobs()
        await two.run_jobs()
        await two.poll_timers()
        await one.poll_timers()
        sent = [
            c
            for c in one.api.calls + two.api.calls
            if c.method == "sendMessage" and REMINDER in str(c.params.get("text"))
        ]
        assert len(sent) == 1
        (timer,) = await reminder_timers(engine)
        assert timer.due_at == datetime(2026, 11, 21, 18, 0, tzinfo=UTC)
    finally:
        await one.app.shutdown()
        await two.app.shutdown()


async def test_a_user_who_blocked_the_bot_gets_no_more_reminders(
    mini: Harness, engine: AsyncEngine
) -> None:
    await mini.text(ANN, "/remind 18:00")
    await miss_one(mini)
    mini.clock.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
    mini.api.failures["sendMessage"] = (403, "Forbidden: bot was blocked by the user")
    await mini.run_jobs()
    del mini.api.failures["sendMessage"]
    assert await reminder_timers(engine) == []
    row = await user_row(engine, 101)
    assert (row.remind_at, row.active) == (None, False)
    mini.clock.advance(days=1)
    before = len(mini.api.calls)
    assert await mini.run_jobs() == 0
    assert await mini.poll_timers() == 0
    assert mini.api.calls[before:] == []


# --------------------------------------------------------------------------- leeches


def test_full_quote_is_the_whole_sentence() -> None:
    article = "First one. The range is nearly 200 miles away, officials said. Last one."
    assert full_quote(article, "nearly 200 miles") == (
        "The range is nearly 200 miles away, officials said."
    )
    assert full_quote("Only this, no stop", "this") == "Only this, no stop"
    assert full_quote(article, "not in it") == "not in it"
    assert full_quote("A. " + "b " * 400 + "quote here. C.", "quote") == "quote"


async def miss_in_review(bot: Harness) -> list[Any]:
    """Half an hour on, review what is due and miss it."""
    bot.clock.advance(seconds=31 * 60)
    calls = await bot.text(ANN, "/review")
    assert "1 question is due for review" in texts(calls)
    return await bot.text(ANN, "/skip")


async def test_a_leech_is_shown_once_then_suspended(mini: Harness, engine: AsyncEngine) -> None:
    await miss_one(mini)  # missed in the quiz itself: not a review miss
    for _ in range(3):
        calls = await miss_in_review(mini)
        assert "keeps slipping" not in texts(calls)
    calls = await miss_in_review(mini)  # the fourth miss in review
    leech = [c for c in calls if "keeps slipping" in str(c.params.get("text"))]
    assert len(leech) == 1
    text = leech[0].params["text"]
    assert "<b>How far can the missiles reach?</b>" in text
    assert "Answer: <b>Nearly 200 miles</b>" in text
    assert "💡 The article says so." in text
    # The full quote: the whole sentence of the article, not only the item's few words.
    assert (
        "The authorization grants Ukraine access to U.S.-made ATACMS missiles capable of "
        "hitting targets nearly 200 miles away." in text
    )
    # "Review my mistakes" no longer offers it, and it is never due again.
    summary = next(c for c in calls if "Review finished" in str(c.params.get("text")))
    assert "rv:" not in json.dumps(summary.params.get("reply_markup"))
    mini.clock.advance(days=3)  # the other item, answered right, is due by now
    calls = await mini.text(ANN, "/review")
    assert "1 question is due for review" in texts(calls)
    assert "How far can the missiles reach?" not in texts(calls)
    # /score lists it.
    score = texts(await mini.text(ANN, "/score"))
    assert "🧩 <b>1 question keeps slipping</b>" in score
    assert "How far can the missiles reach? <i>(Mini)</i>" in score
    # Instructors see the count per item in /stats.
    admin = user(900, "Admin")
    stats = texts(await mini.text(admin, "/stats mini"))
    assert "a leech for 1 student (missed 4 times in review)" in stats
    # A reminder does not count it: one question due, the other one.
    await mini.text(ANN, "/remind")
    mini.clock.advance(days=1)
    before = len(mini.api.calls)
    await mini.run_jobs()
    assert "⏰ 1 question is due for review." in texts(mini.api.calls[before:])


class RecordingLimiter(BaseRateLimiter[None]):
    """A rate limiter that lets everything through and notes what it saw."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        self.seen.append((endpoint, data))
        return await callback(*args, **kwargs)


async def test_reminders_go_through_the_rate_limiter(
    engine: AsyncEngine, clock: Clock, tmp_path: Path
) -> None:
    limiter = RecordingLimiter()
    api = OfflineRequest()
    settings = make_settings(
        engine.url.render_as_string(hide_password=False), write_mini_pack(tmp_path)
    )
    app = build_application(
        settings,
        request=api,
        engine=engine,
        clock=clock,
        rate_limiter=limiter,
        concurrent_updates=False,
    )
    await app.initialize()
    await startup(app)
    bot = Harness(app, api, clock)
    try:
        await bot.text(ANN, "/remind 18:00")
        await miss_one(bot)
        clock.now = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)
        limiter.seen.clear()
        await bot.run_jobs()
        (sent,) = [data for endpoint, data in limiter.seen if endpoint == "sendMessage"]
        assert sent["chat_id"] == 101 and REMINDER in sent["text"]
    finally:
        await app.shutdown()


async def test_help_names_remind_and_timezone(bot: Harness) -> None:
    text = texts(await bot.text(ANN, "/help"))
    assert "/remind — a daily reminder" in text and "/timezone — your time zone" in text
