"""Ranks from score buckets (migration 0004) on SQLite and PostgreSQL: every player's rank
equals their place in a full sort, after answers, the seven-day roll and deletions; the
triggers keep the buckets equal to a recount; the migration fills them for existing totals."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from test_store import _setup_run, empty_engine  # noqa: F401 - a fixture

from bot.store import make_sessionmaker, migrate, repo
from bot.store.models import ScoreBucket, ScoreTotal

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


async def sorted_board(session: Any, scope: str, period: str) -> list[int]:
    """The board in full, by the ranking rules, the slow way."""
    rows = (
        await session.execute(
            select(ScoreTotal).where(ScoreTotal.scope == scope, ScoreTotal.period == period)
        )
    ).scalars()
    ordered = sorted(rows, key=lambda t: (-t.points, t.seconds_ms, t.reached_at, t.user_id))
    return [t.user_id for t in ordered]


async def recount(session: Any) -> dict[tuple[str, str, int], int]:
    bucket = ScoreTotal.points / 1000
    counted = (
        await session.execute(
            select(ScoreTotal.scope, ScoreTotal.period, func.floor(bucket), func.count()).group_by(
                ScoreTotal.scope, ScoreTotal.period, func.floor(bucket)
            )
        )
    ).all()
    return {(s, p, int(b)): n for s, p, b, n in counted}


async def kept(session: Any) -> dict[tuple[str, str, int], int]:
    rows = (await session.execute(select(ScoreBucket))).scalars()
    return {(b.scope, b.period, b.bucket): b.players for b in rows if b.players}


async def check_every_rank(engine: AsyncEngine, scopes: list[str]) -> int:
    """Compare every player's rank with the full sort, read in one session, and each board's
    last player again in a transaction of its own; returns how many ranks were checked."""
    sessionmaker = make_sessionmaker(engine)
    checked = 0
    lasts = []
    async with sessionmaker() as session:
        assert await kept(session) == await recount(session)
        for scope in scopes:
            for period in ("all", "week"):
                board = await sorted_board(session, scope, period)
                assert await repo.count_players(session, scope, period) == len(board)
                for place, user_id in enumerate(board, start=1):
                    standing = await repo.standing_of(session, scope, period, user_id)
                    assert standing is not None and standing.rank == place, (scope, period)
                    checked += 1
                top = await repo.top_standings(session, scope, period, 5)
                assert [s.user_id for s in top] == board[:5]
                if board:
                    lasts.append((scope, period, board[-1], len(board)))
    for scope, period, user_id, place in lasts:
        async with sessionmaker() as session, session.begin():
            last = await repo.standing_of(session, scope, period, user_id)
        assert last is not None and last.rank == place
    return checked


async def test_ranks_match_a_full_sort(engine: AsyncEngine) -> None:
    """Scores across many buckets, ties on points and on seconds, bucket edges (999/1000),
    the week rolling over (points going down) and players deleted."""
    sessionmaker, pack_id, items, users, runs = await _setup_run(engine, users=30)
    rng = random.Random(5)
    scores = [0, 250, 500, 999, 1000, 1001, 1500, 2000, 2999, 3000]
    async with sessionmaker() as session, session.begin():
        for n, (user_id, run_id) in enumerate(zip(users, runs, strict=True)):
            for k, item_id in enumerate(items[: rng.randrange(1, 8)]):
                when = NOW - timedelta(days=rng.randrange(0, 12), seconds=n)
                await repo.record_attempt(
                    session,
                    repo.NewAttempt(
                        run_id,
                        item_id,
                        user_id,
                        -100 if n % 2 else None,
                        pack_id,
                        None,
                        True,
                        rng.choice(scores),
                        1000 * (k % 3),  # equal seconds make ties on the tie-breaks too
                        when,
                    ),
                )
    scopes = ["g", f"p:{pack_id}", "c:-100", f"cp:-100:{pack_id}"]
    assert await check_every_rank(engine, scopes) > 100
    # The week rolls: old days leave the 7-day totals (points go down, rows go away).
    async with sessionmaker() as session, session.begin():
        await repo.roll_week(session, NOW.date())
    assert await check_every_rank(engine, scopes) > 100
    # Players leave (deleting a user deletes their totals).
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(ScoreTotal).where(ScoreTotal.user_id.in_(users[:7])))
    assert await check_every_rank(engine, scopes) > 50


async def test_the_migration_fills_buckets_for_existing_totals(
    empty_engine: AsyncEngine,  # noqa: F811 - the fixture
) -> None:
    await migrate.upgrade(empty_engine, "0003")
    sessionmaker = make_sessionmaker(empty_engine)
    async with sessionmaker() as session, session.begin():
        for n in range(12):
            uid = await repo.upsert_telegram_user(session, 700 + n, f"u{n}", None, NOW)
            await session.execute(
                text(
                    "INSERT INTO score_totals (scope, period, user_id, points, answered, "
                    "correct, seconds_ms, reached_at) VALUES ('g', 'all', :u, :p, 1, 1, 5, :t)"
                ).bindparams(t=NOW.replace(tzinfo=None)),
                {"u": uid, "p": (n % 4) * 700},
            )
    await migrate.upgrade(empty_engine)
    async with sessionmaker() as session:
        assert (
            await kept(session)
            == await recount(session)
            == {
                ("g", "all", 0): 6,  # 0 and 700 points
                ("g", "all", 1): 3,  # 1400
                ("g", "all", 2): 3,  # 2100
            }
        )
    assert await check_every_rank(empty_engine, ["g"]) == 12
    await migrate.downgrade(empty_engine, "0003")
    await migrate.upgrade(empty_engine)
    async with sessionmaker() as session:
        assert await kept(session) == await recount(session)
