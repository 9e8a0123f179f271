"""Leaderboards: the top players and the viewer's own rank, read from kept-up-to-date totals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.quiz.catalog import Catalog
from bot.store import repo
from bot.store.direct import NeedSession, Transactions, Tx, tx_of

Period = Literal["all", "week"]


@dataclass(frozen=True)
class Board:
    title: str
    top: list[repo.Standing]
    mine: repo.Standing | None
    viewer_id: int | None


@dataclass(frozen=True)
class BoardQuery:
    period: Period = "all"
    slug: str | None = None


_PERIOD_WORDS = frozenset({"week", "weekly", "7d", "all", "alltime", "all-time", "ever"})


def parse_board_args(args: list[str]) -> BoardQuery | str:
    """``week``/``all`` and a pack slug, in any order; returns an error text otherwise."""
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
            return "Usage: /leaderboard [week|all] [pack]"
    return BoardQuery(period or "all", slug)


class Boards:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        catalog: Catalog,
        clock: Callable[[], datetime],
        transactions: Transactions | None = None,
    ) -> None:
        self.catalog = catalog
        self.clock = clock
        self.transactions = transactions or Transactions(sessionmaker)
        self._rolled_for: date | None = None

    async def ensure_week_rolled(self, executor: AsyncSession | Tx) -> None:
        """Subtract days that left the seven-day window (once a day per process; on an ORM
        session, so a direct transaction asks for one the first time each day)."""
        today = self.clock().date()
        if self._rolled_for != today:
            session = tx_of(executor).session
            if session is None:
                raise NeedSession
            await repo.roll_week(session, today)
            self._rolled_for = today

    async def board(
        self,
        viewer_id: int | None,
        chat_id: int | None,
        query: BoardQuery,
        limit: int = 10,
    ) -> Board | str:
        """The board for a chat (``chat_id``) or the whole bot, optionally for one pack."""
        return await self.transactions.run(
            lambda tx: self.board_in(tx, viewer_id, chat_id, query, limit)
        )

    async def board_in(
        self,
        executor: AsyncSession | Tx,
        viewer_id: int | None,
        chat_id: int | None,
        query: BoardQuery,
        limit: int = 10,
    ) -> Board | str:
        """:meth:`board` in the caller's transaction."""
        tx = tx_of(executor)
        pack_id = None
        pack_title = None
        if query.slug:
            if tx.session is None:
                raise NeedSession  # the catalog checks the pack is current through the ORM
            pack = await self.catalog.by_slug(tx.session, query.slug)
            if pack is None or pack.status != "active":  # hidden packs too, as elsewhere
                return f"There is no quiz called {query.slug[:64]!r}. See /packs."
            pack_id, pack_title = pack.id, pack.title
        if query.period == "week":
            await self.ensure_week_rolled(tx)
        scope = repo.scope_key(chat_id=chat_id, pack_id=pack_id)
        top = await repo.top_standings(tx, scope, query.period, limit)
        mine = None
        if viewer_id is not None:
            mine = next((s for s in top if s.user_id == viewer_id), None)
            if mine is None:
                mine = await repo.standing_of(tx, scope, query.period, viewer_id)
        where = "This chat" if chat_id is not None else "Everyone"
        when = "last 7 days" if query.period == "week" else "all time"
        what = f" · {pack_title}" if pack_title else ""
        return Board(f"{where}{what} · {when}", top, mine, viewer_id)
