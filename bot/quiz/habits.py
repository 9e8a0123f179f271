"""The habit loop around the engine (issue 16): a student's or a class's time zone, streaks
of local days, daily review reminders, and leeches. Each method is one unit of work (one
session, one transaction), so the adapters never open a session themselves.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.quiz import zones
from bot.quiz.service import Player, QuizService
from bot.store import repo
from bot.store.models import Attempt, Chat, User

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
class Scores:
    """What ``/score`` shows: per pack figures, and the streak across packs."""

    packs: list[repo.PackStats]
    streak: Streak


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
            return Scores(packs, streak_of(days, zones.local_date(now, zone), zone))

        return await self.quiz.in_transaction(player, work)

    # ----------------------------------------------------------------- time zones

    async def zone_of(self, player: Player) -> str | None:
        """The player's zone (None: not set, the bot uses UTC)."""

        async def work(session: AsyncSession) -> str | None:
            user_id = await self.quiz.user_id(session, player)
            return await _user_zone(session, user_id)

        return await self.quiz.in_transaction(player, work)

    async def set_zone(self, player: Player, zone: str) -> None:
        """Store the player's zone (as :func:`bot.quiz.zones.parse_zone` wrote it)."""

        async def work(session: AsyncSession) -> None:
            user_id = await self.quiz.user_id(session, player)
            await session.execute(update(User).where(User.id == user_id).values(timezone=zone))

        await self.quiz.in_transaction(player, work)

    async def chat_zone(self, chat_id: int) -> str | None:
        """A group's zone (None: not set, UTC)."""
        async with self.quiz.sessionmaker() as session:
            return (
                await session.execute(select(Chat.timezone).where(Chat.id == chat_id))
            ).scalar_one_or_none()

    async def set_chat_zone(
        self, chat_id: int, chat_type: str, title: str | None, zone: str
    ) -> None:
        """Store a group's zone (the adapter checked that a group admin asked)."""
        async with self.quiz.sessionmaker() as session, session.begin():
            await repo.upsert_chat(session, chat_id, chat_type, title, self.clock())
            await session.execute(update(Chat).where(Chat.id == chat_id).values(timezone=zone))


async def _user_zone(session: AsyncSession, user_id: int) -> str | None:
    return (
        await session.execute(select(User.timezone).where(User.id == user_id))
    ).scalar_one_or_none()
