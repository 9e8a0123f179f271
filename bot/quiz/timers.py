"""Timers any worker can run: every deadline is a row of ``timers`` (bot/store/models.py).

The domain writes and removes timer rows in the same transaction as the state they belong to
(a game's question closing is set when the question is asked), so a timer exists exactly when
something waits on it. Each worker then acts on due timers in two ways, both through
:meth:`TimerService.claim`: the in-process job it armed for the exact moment, and a poll for
due rows nobody claimed (:meth:`TimerService.claim_due`), which takes over the timers of a
worker that died and the deadlines that passed while the bot was down (late, never dropped).

A claim is a conditional UPDATE (the row is due and not under a live lease), which works the
same on SQLite and PostgreSQL: of two workers, one gets the row. The claim holds a lease; a
worker that dies while acting lets it lapse, and the timer runs again elsewhere (the actions
are claimed themselves, so running one twice does nothing twice). After ``MAX_TRIES`` claims a
timer that keeps failing is dropped with an error in the log.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.store import repo
from bot.store.engine import unit_of_work
from bot.store.models import Timer as TimerRow

LEASE = timedelta(seconds=30)
"""How long a claim holds before another worker may take the timer over."""

MAX_TRIES = 5
"""Claims after which a timer that never completes is dropped."""


@dataclass(frozen=True)
class Timer:
    """A claimed (or pending) timer, as the adapter's handler for its ``kind`` gets it."""

    id: int
    kind: str
    key: str
    run_id: int | None
    payload: dict[str, Any]
    due_at: datetime
    claim: str | None
    tries: int


def _timer(row: TimerRow) -> Timer:
    return Timer(
        row.id, row.kind, row.key, row.run_id, dict(row.payload), row.due_at, row.claim, row.tries
    )


def game_key(run_id: int, what: str, position: int) -> str:
    """The key of a group game's timer (``what``: lobby, close or advance)."""
    return f"game:{run_id}:{what}:{position}"


async def set_timer(
    session: AsyncSession,
    kind: str,
    key: str,
    due_at: datetime,
    now: datetime,
    payload: dict[str, Any] | None = None,
    run_id: int | None = None,
) -> None:
    """Set (or move) the timer ``key``: a new deadline, and any old claim forgotten."""
    values = {"due_at": due_at, "payload": payload or {}, "claim": None, "claimed_until": None}
    stmt = repo.dialect_insert(session, TimerRow).values(
        kind=kind, key=key, run_id=run_id, tries=0, created_at=now, **values
    )
    await session.execute(
        stmt.on_conflict_do_update(index_elements=["key"], set_={**values, "tries": 0})
    )


async def set_game_timer(
    session: AsyncSession, run_id: int, what: str, position: int, due_at: datetime, now: datetime
) -> None:
    await set_timer(
        session,
        "game",
        game_key(run_id, what, position),
        due_at,
        now,
        {"what": what, "position": position},
        run_id,
    )


async def cancel_timer(session: AsyncSession, key: str) -> None:
    await session.execute(delete(TimerRow).where(TimerRow.key == key))


async def cancel_run_timers(session: AsyncSession, run_id: int) -> None:
    """Remove every timer of a run (a game that ends waits on nothing)."""
    await session.execute(delete(TimerRow).where(TimerRow.run_id == run_id))


def claimable(now: datetime) -> Any:
    """Due at ``now`` and held by nobody."""
    return (TimerRow.due_at <= now) & or_(
        TimerRow.claimed_until.is_(None), TimerRow.claimed_until < now
    )


class TimerService:
    """Claims due timers and marks them done."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Callable[[], datetime],
        lease: timedelta = LEASE,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.lease = lease

    async def claim(self, key: str) -> Timer | None:
        """Claim the timer ``key`` if it is due and nobody holds it (None otherwise)."""
        rows = await self._claim(TimerRow.key == key)
        return rows[0] if rows else None

    async def claim_due(self, grace: timedelta = timedelta(0), limit: int = 50) -> list[Timer]:
        """Claim timers that have been due for ``grace`` and that nobody holds: the timers of
        a worker that died, deadlines that passed while the bot was down. Timers claimed
        ``MAX_TRIES`` times without completing are returned too, marked by ``tries``; the
        caller drops them."""

        async def work(session: AsyncSession) -> list[int]:
            ids = (
                await session.execute(
                    select(TimerRow.id)
                    .where(claimable(self.clock() - grace))
                    .order_by(TimerRow.due_at)
                    .limit(limit)
                )
            ).scalars()
            return list(ids)

        candidates = await unit_of_work(self.sessionmaker, work, commit=False)
        if not candidates:
            return []
        return await self._claim(TimerRow.id.in_(candidates))

    async def _claim(self, which: Any) -> list[Timer]:
        # One conditional UPDATE per claim: of two workers claiming at once, the second
        # finds the lease set (PostgreSQL re-checks the WHERE clause on the updated row;
        # SQLite has one writer at a time).
        now = self.clock()
        token = uuid.uuid4().hex

        async def work(session: AsyncSession) -> list[Timer]:
            await session.execute(
                update(TimerRow)
                .where(which, claimable(now))
                .values(claim=token, claimed_until=now + self.lease, tries=TimerRow.tries + 1)
            )
            rows = (
                await session.execute(
                    select(TimerRow).where(TimerRow.claim == token).order_by(TimerRow.due_at)
                )
            ).scalars()
            return [_timer(r) for r in rows]

        return await unit_of_work(self.sessionmaker, work)

    async def done(self, timer: Timer) -> None:
        """Remove a timer that has acted, unless it was set again meanwhile (a new claim)."""

        async def work(session: AsyncSession) -> None:
            await session.execute(
                delete(TimerRow).where(TimerRow.id == timer.id, TimerRow.claim == timer.claim)
            )

        await unit_of_work(self.sessionmaker, work)

    async def pending(self) -> list[Timer]:
        """Every timer not done, soonest first (to arm them in-process at start-up)."""

        async def work(session: AsyncSession) -> list[Timer]:
            rows = (await session.execute(select(TimerRow).order_by(TimerRow.due_at))).scalars()
            return [_timer(r) for r in rows]

        return await unit_of_work(self.sessionmaker, work, commit=False)
