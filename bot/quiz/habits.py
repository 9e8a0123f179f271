"""The habit loop around the engine (issue 16): a student's or a class's time zone, streaks
of local days, daily review reminders, and leeches. Each method is one unit of work (one
session, one transaction), so the adapters never open a session themselves.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.quiz.service import Player, QuizService
from bot.store import repo
from bot.store.models import Chat, User


class Habits:
    """Time zones, streaks, reminders and leeches; one unit of work per call."""

    def __init__(self, quiz: QuizService) -> None:
        self.quiz = quiz
        self.clock = quiz.clock

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
