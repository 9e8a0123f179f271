"""The habit loop around the engine (issue 16): a student's or a class's time zone, streaks
of local days, daily review reminders, and leeches. Each method is one unit of work (one
session, one transaction), so the adapters never open a session themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.quiz import review, timers, zones
from bot.quiz.service import Player, QuizService
from bot.store import repo
from bot.store.models import Attempt, Chat, ReviewCard, User
from bot.store.models import Timer as TimerRow

REMIND_DEFAULT = "18:00"
"""The local time of the daily review reminder when ``/remind`` names none."""

REMIND_KIND = "remind"
"""The kind of the reminders' timer rows (bot/quiz/timers.py), one row per user."""

_TIME = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?$")

FREEZE_SPACING = 7
"""Forgiven days (freezes) are at least this many days apart: at most one missed day is
forgiven in any 7 consecutive days."""


@dataclass(frozen=True)
class Streak:
    """Days in a row with at least one answered item, in the player's local days.

    A single missed day between two days with answers is forgiven (a *freeze*) when no other
    day was forgiven in the 6 days before it, so at most one day in any 7 consecutive days;
    two missed days in a row end a streak. Forgiven days keep a streak alive but do not count
    in its length. The current streak is alive while it ends today or yesterday, or the day
    before yesterday when yesterday can be forgiven (today can still continue it)."""

    current: int
    longest: int
    freeze_this_week: bool
    """A day was forgiven in the last 7 days (today and the 6 before)."""
    answered_today: bool
    zone: str | None
    """The zone the days are counted in (None: UTC, not set)."""


def streak_of(days: Iterable[date], today: date, zone: str | None = None) -> Streak:
    """The streaks of the local ``days`` with answers, as of ``today`` (see :class:`Streak`)."""
    ordered = sorted({day for day in days if day <= today})
    forgiven: list[date] = []

    def forgivable(missed: date) -> bool:
        return not forgiven or (missed - forgiven[-1]).days >= FREEZE_SPACING

    current = longest = 0
    previous: date | None = None
    for day in ordered:
        gap = (day - previous).days if previous is not None else 0
        if gap == 1:
            current += 1
        elif gap == 2 and forgivable(day - timedelta(days=1)):
            forgiven.append(day - timedelta(days=1))
            current += 1
        else:
            current = 1
        longest = max(longest, current)
        previous = day
    if previous is not None:
        gap = (today - previous).days
        yesterday = today - timedelta(days=1)
        if gap == 2 and forgivable(yesterday):
            forgiven.append(yesterday)
        elif gap > 1:
            current = 0
    return Streak(
        current=current,
        longest=longest,
        freeze_this_week=any((today - day).days < FREEZE_SPACING for day in forgiven),
        answered_today=previous == today,
        zone=zone,
    )


@dataclass(frozen=True)
class Leech:
    """An item a student missed 4 times in review: suspended from their reviews."""

    pack_title: str
    question: str


@dataclass(frozen=True)
class Scores:
    """What ``/score`` shows: per pack figures, the streak across packs, the leeches."""

    packs: list[repo.PackStats]
    streak: Streak
    leeches: list[Leech]


_SENTENCE_ENDS = (". ", "! ", "? ", ".” ", '." ')


def full_quote(article: str, source: str, limit: int = 700) -> str:
    """The whole sentence (or sentences) of ``article`` around the quote ``source``, so a
    leech is shown with its context; ``source`` itself when it cannot be found or the
    sentence is longer than ``limit``."""
    text = " ".join(article.split())
    needle = " ".join(source.split())
    at = text.find(needle) if needle else -1
    if at < 0:
        at = text.lower().find(needle.lower()) if needle else -1
    if at < 0:
        return source
    before = max(text.rfind(end, 0, at) for end in _SENTENCE_ENDS)
    start = 0 if before < 0 else before + 2
    afters = [i for i in (text.find(end, at + len(needle)) for end in _SENTENCE_ENDS) if i >= 0]
    stop = min(afters) + 1 if afters else len(text)
    if text[stop - 1 : stop + 1] == ".”":
        stop += 1
    quote = text[start:stop].strip()
    return quote if len(quote) <= limit else source


def parse_time(text: str) -> str | None:
    """A time of day as ``HH:MM`` (``18:00``, ``7:30``, ``7.30``, ``7h30``, ``19``); None for
    anything else."""
    match = _TIME.match(text.strip().lower())
    if match is None:
        return None
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    if hours > 23 or minutes > 59:
        return None
    return f"{hours:02d}:{minutes:02d}"


def next_reminder(now: datetime, zone: str | None, at: str) -> datetime:
    """The next moment after ``now`` when it is ``at`` (``HH:MM``) in ``zone``, in UTC. A
    time that a change to summer time skips comes at the offset before the change (zoneinfo's
    rule), so a day never goes without."""
    tz = zones.to_tzinfo(zone)
    hours, minutes = (int(part) for part in at.split(":"))
    day = zones.local_date(now, zone)
    for _ in range(3):
        moment = datetime.combine(day, time(hours, minutes), tzinfo=tz).astimezone(now.tzinfo)
        if moment > now:
            return moment
        day += timedelta(days=1)
    raise AssertionError("unreachable: a local time comes back within two days")


def remind_key(user_id: int) -> str:
    """The key of a user's reminder timer."""
    return f"remind:{user_id}"


@dataclass(frozen=True)
class ReminderSetting:
    """A user's reminder: the local time (None: off), their zone, the next one in UTC."""

    at: str | None
    zone: str | None
    next_at: datetime | None
    key: str


@dataclass(frozen=True)
class ReminderDue:
    """A reminder this worker claimed: whom to tell how many items are due, and when the next
    one is (already set)."""

    telegram_id: int
    user_id: int
    language: str | None
    due: int
    next_at: datetime
    key: str


async def answer_days(session: AsyncSession, user_id: int, zone: str | None) -> set[date]:
    """The local days (in ``zone``) on which the user answered at least one item (a skip is
    not an answer). One indexed read of the user's answer times: the local day of a moment
    depends on the zone's rules that day, so it is computed here rather than in SQL."""
    tz = zones.to_tzinfo(zone)
    moments = await session.execute(
        select(Attempt.answered_at).where(Attempt.user_id == user_id, Attempt.response.is_not(None))
    )
    return {moment.astimezone(tz).date() for moment in moments.scalars()}


class Habits:
    """Time zones, streaks, reminders and leeches; one unit of work per call."""

    def __init__(self, quiz: QuizService) -> None:
        self.quiz = quiz
        self.clock = quiz.clock

    # ----------------------------------------------------------------- scores, streaks

    async def scores(self, player: Player) -> Scores:
        """The player's figures per pack and their streak of local days."""
        now = self.clock()

        async def work(session: AsyncSession) -> Scores:
            user_id = await self.quiz.user_id(session, player)
            zone = await _user_zone(session, user_id)
            days = await answer_days(session, user_id, zone)
            packs = await repo.user_pack_stats(session, user_id)
            streak = streak_of(days, zones.local_date(now, zone), zone)
            return Scores(packs, streak, await self._leeches(session, user_id))

        return await self.quiz.in_transaction(player, work)

    async def _leeches(self, session: AsyncSession, user_id: int) -> list[Leech]:
        item_ids = (
            await session.execute(
                select(ReviewCard.item_id)
                .where(ReviewCard.user_id == user_id, ReviewCard.leech_at.is_not(None))
                .order_by(ReviewCard.leech_at, ReviewCard.item_id)
            )
        ).scalars()
        leeches = []
        catalog = self.quiz.catalog
        for item_id in item_ids:
            cached = await catalog.item(session, item_id)
            pack = await catalog.by_id(session, cached.pack_id) if cached else None
            if cached is not None and pack is not None:
                leeches.append(Leech(pack.title, cached.item.question))
        return leeches

    # ----------------------------------------------------------------- reminders

    async def reminder(self, player: Player) -> ReminderSetting:
        """The player's reminder setting."""

        async def work(session: AsyncSession) -> ReminderSetting:
            user_id = await self.quiz.user_id(session, player)
            row = (
                await session.execute(
                    select(User.remind_at, User.timezone).where(User.id == user_id)
                )
            ).one()
            next_at = (
                next_reminder(self.clock(), row.timezone, row.remind_at) if row.remind_at else None
            )
            return ReminderSetting(row.remind_at, row.timezone, next_at, remind_key(user_id))

        return await self.quiz.in_transaction(player, work)

    async def set_reminder(
        self, player: Player, at: str | None, language: str | None = None
    ) -> ReminderSetting:
        """Turn the daily reminder on at local time ``at`` (its timer row set for the next
        one), or off (None: the row removed). ``language`` is the one to write the reminder
        in when the player never chose one with /language (Telegram's, as seen now)."""
        now = self.clock()

        async def work(session: AsyncSession) -> ReminderSetting:
            user_id = await self.quiz.user_id(session, player)
            await session.execute(update(User).where(User.id == user_id).values(remind_at=at))
            zone = await _user_zone(session, user_id)
            key = remind_key(user_id)
            if at is None:
                await timers.cancel_timer(session, key)
                return ReminderSetting(None, zone, None, key)
            next_at = next_reminder(now, zone, at)
            payload = {"user_id": user_id, "language": language}
            await timers.set_timer(session, REMIND_KIND, key, next_at, now, payload)
            return ReminderSetting(at, zone, next_at, key)

        return await self.quiz.in_transaction(player, work)

    async def take_reminder(self, payload: dict[str, object]) -> ReminderDue | None:
        """A claimed reminder timer: count the user's due review items and move the timer to
        the next day, in one transaction, before anything is sent. So a reminder is sent at
        most once (a worker that dies between this and the send loses that day's, never sends
        it twice), and the next one exists whatever happens to this one. None when the user
        turned reminders off meanwhile (or is gone)."""
        now = self.clock()
        user_id = int(str(payload.get("user_id")))

        async def work(session: AsyncSession) -> ReminderDue | None:
            user = await session.get(User, user_id)
            key = remind_key(user_id)
            if user is None or user.remind_at is None or user.telegram_id is None:
                await timers.cancel_timer(session, key)
                return None
            next_at = next_reminder(now, user.timezone, user.remind_at)
            await timers.set_timer(session, REMIND_KIND, key, next_at, now, dict(payload))
            due = await review.due_items(session, user_id, now)
            count = sum(len(items) for items in due.by_pack.values())
            language = user.language or (
                str(payload["language"]) if payload.get("language") else None
            )
            return ReminderDue(user.telegram_id, user_id, language, count, next_at, key)

        return await self.quiz.in_transaction(None, work)

    async def stop_reminders(self, user_id: int) -> None:
        """The user blocked the bot (Telegram said Forbidden): no more reminders, for good
        (``/remind`` turns them on again, which needs the user back)."""

        async def work(session: AsyncSession) -> None:
            await session.execute(
                update(User).where(User.id == user_id).values(remind_at=None, active=False)
            )
            await timers.cancel_timer(session, remind_key(user_id))

        await self.quiz.in_transaction(None, work)

    async def offer_reminders(self, telegram_id: int) -> bool:
        """Whether to offer /remind now: once per user (stored), and never to one who has
        reminders on. A conditional update, so two finished runs at once offer it once."""

        async def work(session: AsyncSession) -> bool:
            result = await session.execute(
                update(User)
                .where(
                    User.telegram_id == telegram_id,
                    User.remind_offered.is_(False),
                    User.remind_at.is_(None),
                )
                .values(remind_offered=True)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

        # One statement that stands alone: AUTOCOMMIT on PostgreSQL (no BEGIN and COMMIT).
        return await self.quiz.in_transaction(None, work, sessionmaker=self.quiz.statements)

    # ----------------------------------------------------------------- time zones

    async def zone_of(self, player: Player) -> str | None:
        """The player's zone (None: not set, the bot uses UTC)."""

        async def work(session: AsyncSession) -> str | None:
            user_id = await self.quiz.user_id(session, player)
            return await _user_zone(session, user_id)

        return await self.quiz.in_transaction(player, work)

    async def set_zone(self, player: Player, zone: str) -> ReminderSetting | None:
        """Store the player's zone (as :func:`bot.quiz.zones.parse_zone` wrote it); a daily
        reminder that is on moves to the same local time in the new zone (returned, for the
        adapter to arm)."""
        now = self.clock()

        async def work(session: AsyncSession) -> ReminderSetting | None:
            user_id = await self.quiz.user_id(session, player)
            await session.execute(update(User).where(User.id == user_id).values(timezone=zone))
            at = (
                await session.execute(select(User.remind_at).where(User.id == user_id))
            ).scalar_one()
            if at is None:
                return None
            key = remind_key(user_id)
            next_at = next_reminder(now, zone, at)
            await session.execute(
                update(TimerRow).where(TimerRow.key == key).values(due_at=next_at)
            )
            return ReminderSetting(at, zone, next_at, key)

        return await self.quiz.in_transaction(player, work)

    async def chat_zone(self, chat_id: int) -> str | None:
        """A group's zone (None: not set, UTC)."""

        async def work(session: AsyncSession) -> str | None:
            return (
                await session.execute(select(Chat.timezone).where(Chat.id == chat_id))
            ).scalar_one_or_none()

        return await self.quiz.in_transaction(
            None, work, commit=False, sessionmaker=self.quiz.statements
        )

    async def set_chat_zone(
        self, chat_id: int, chat_type: str, title: str | None, zone: str
    ) -> None:
        """Store a group's zone (the adapter checked that a group admin asked)."""

        async def work(session: AsyncSession) -> None:
            await repo.upsert_chat(session, chat_id, chat_type, title, self.clock())
            await session.execute(update(Chat).where(Chat.id == chat_id).values(timezone=zone))

        await self.quiz.in_transaction(None, work)


async def _user_zone(session: AsyncSession, user_id: int) -> str | None:
    return (
        await session.execute(select(User.timezone).where(User.id == user_id))
    ).scalar_one_or_none()
