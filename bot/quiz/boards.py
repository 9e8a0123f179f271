"""Leaderboards: the top players and the viewer's own rank, read from kept-up-to-date totals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.quiz.catalog import Catalog
from bot.store import repo
from bot.store.engine import unit_of_work

Period = Literal["all", "week"]


@dataclass(frozen=True)
class Board:
    in_chat: bool
    """Ranked within one chat (else: everyone)."""
    pack_title: str | None
    period: Period
    top: list[repo.Standing]
    mine: repo.Standing | None
    viewer_id: int | None


@dataclass(frozen=True)
class BoardQuery:
    period: Period = "all"
    slug: str | None = None


_PERIOD_WORDS = frozenset({"week", "weekly", "7d", "all", "alltime", "all-time", "ever"})


@dataclass(frozen=True)
class NoBoard:
    """Why there is no board: the arguments cannot be read (``usage``), or no such pack."""

    reason: Literal["usage", "no_pack"]
    slug: str = ""


def parse_board_args(args: list[str]) -> BoardQuery | NoBoard:
    """``week``/``all`` and a pack slug, in any order; returns ``NoBoard("usage")`` otherwise."""
    period: Period | None = None
    slug = None
    for arg in args:
        word = arg.strip().lower()
        if word in ("week", "weekly", "7d") and period is None:
            period = "week"
        elif word in ("all", "alltime", "all-time", "ever") and period is None:
            period = "all"
        elif slug is None and word not in _PERIOD_WORDS:
            slug = word
        else:
            return NoBoard("usage")
    return BoardQuery(period or "all", slug)


class Boards:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        catalog: Catalog,
        clock: Callable[[], datetime],
    ) -> None:
        self.sessionmaker = sessionmaker
        self.catalog = catalog
        self.clock = clock
        self._rolled_for: date | None = None

    async def ensure_week_rolled(self, session: AsyncSession) -> None:
        """Subtract days that left the seven-day window (once a day per process)."""
        today = self.clock().date()
        if self._rolled_for != today:
            await repo.roll_week(session, today)
            self._rolled_for = today

    async def board(
        self,
        viewer_id: int | None,
        chat_id: int | None,
        query: BoardQuery,
        limit: int = 10,
    ) -> Board | NoBoard:
        """The board for a chat (``chat_id``) or the whole bot, optionally for one pack."""

        async def work(session: AsyncSession) -> Board | NoBoard:
            return await self.board_in(session, viewer_id, chat_id, query, limit)

        return await unit_of_work(self.sessionmaker, work)

    async def board_in(
        self,
        session: AsyncSession,
        viewer_id: int | None,
        chat_id: int | None,
        query: BoardQuery,
        limit: int = 10,
    ) -> Board | NoBoard:
        """:meth:`board` in the caller's transaction."""
        pack_id = None
        pack_title = None
        if query.slug:
            pack = await self.catalog.by_slug(session, query.slug)
            if pack is None or pack.status != "active":  # hidden packs too, as elsewhere
                return NoBoard("no_pack", query.slug[:64])
            pack_id, pack_title = pack.id, pack.title
        if query.period == "week":
            await self.ensure_week_rolled(session)
        scope = repo.scope_key(chat_id=chat_id, pack_id=pack_id)
        top = await repo.top_standings(session, scope, query.period, limit)
        mine = None
        if viewer_id is not None:
            mine = next((s for s in top if s.user_id == viewer_id), None)
            if mine is None:
                mine = await repo.standing_of(session, scope, query.period, viewer_id)
        return Board(chat_id is not None, pack_title, query.period, top, mine, viewer_id)
