"""The small reads and writes the adapters need around the engine: the packs a student may
see, a player's privacy, due reviews, a user who blocked the bot, the chat of a
game. Each method is one unit of work (one session, one transaction), so an adapter never
opens a session itself (issue 12)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession

from bot.quiz import review
from bot.quiz.catalog import CachedPack
from bot.quiz.service import Player, QuizService
from bot.store import repo
from bot.store.models import QuizRun

STORE_ERRORS = (OperationalError, InterfaceError, PoolTimeout, OSError, ConnectionError)
"""Failures to reach the database (as opposed to bugs)."""


def is_outage(error: BaseException | None) -> bool:
    """A failure to reach the database (as opposed to a bug)."""
    if isinstance(error, STORE_ERRORS):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


@dataclass(frozen=True)
class Reviews:
    """What ``/review`` finds: whether the pack asked for is unknown, and what is due."""

    unknown_pack: bool
    due: review.DueItems


class Players:
    """One unit of work per call, through :meth:`QuizService.in_transaction` (which also
    keeps the player's cached user id honest when a transaction rolls back)."""

    def __init__(self, quiz: QuizService) -> None:
        self.quiz = quiz

    async def visible_packs(self) -> list[CachedPack]:
        """Packs that students can see (active, with at least one live item)."""
        return await self.quiz.in_transaction(None, self.quiz.visible_packs)

    async def find_pack(self, slug: str) -> CachedPack | None:
        """A pack students can see, by slug."""

        async def work(session: AsyncSession) -> CachedPack | None:
            return await self.quiz.find_pack(session, slug)

        return await self.quiz.in_transaction(None, work)

    async def welcome(self, player: Player) -> list[CachedPack]:
        """Register the player (the first contact) and return the packs they may play."""

        async def work(session: AsyncSession) -> list[CachedPack]:
            await self.quiz.user_id(session, player)
            return await self.quiz.visible_packs(session)

        return await self.quiz.in_transaction(player, work)

    async def is_hidden(self, player: Player) -> bool:
        """Whether the player is anonymous on leaderboards."""

        async def work(session: AsyncSession) -> bool:
            return await repo.is_hidden(session, await self.quiz.user_id(session, player))

        return await self.quiz.in_transaction(player, work)

    async def set_hidden(self, player: Player, hidden: bool) -> None:
        """Show or hide the player's name on leaderboards."""

        async def work(session: AsyncSession) -> None:
            await repo.set_user_hidden(session, await self.quiz.user_id(session, player), hidden)

        await self.quiz.in_transaction(player, work)

    async def reviews(self, player: Player, slug: str | None) -> Reviews:
        """The items due for review (of ``slug``, or of every pack)."""
        slugs: Sequence[str] | None = [slug.lower()] if slug else None
        now = self.quiz.clock()

        async def work(session: AsyncSession) -> Reviews:
            unknown = bool(slug) and await self.quiz.find_pack(session, slug or "") is None
            user_id = await self.quiz.user_id(session, player)
            return Reviews(unknown, await review.due_items(session, user_id, now, slugs))

        return await self.quiz.in_transaction(player, work)

    async def set_active(self, telegram_id: int, active: bool) -> None:
        """A user who blocked the bot is inactive (and active again on return)."""

        async def work(session: AsyncSession) -> None:
            await repo.set_user_active(session, telegram_id, active)

        await self.quiz.in_transaction(None, work)

    async def chat_of_run(self, run_id: int) -> int | None:
        """The chat a run (a group game) is played in, or None if there is no such run."""

        async def work(session: AsyncSession) -> int | None:
            run = await session.get(QuizRun, run_id)
            return run.chat_id if run is not None else None

        return await self.quiz.in_transaction(None, work)
