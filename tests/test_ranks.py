"""Ranks from score buckets and ties (migrations 0004, 0008) on SQLite and PostgreSQL: every
player's rank equals their place in a full sort, after answers, the seven-day roll and
deletions, with light and heavy ties; the triggers keep the counters equal to a recount; the
migrations fill them for existing totals."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from test_store import _setup_run, empty_engine  # noqa: F401 - a fixture

from bot.store import make_sessionmaker, migrate, repo
from bot.store.models import (
    BUCKET_SHARDS,
    TIE_BAND_MS,
    Attempt,
    ScoreBucket,
    ScoreTie,
    ScoreTotal,
)

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


Counts = dict[tuple[Any, ...], int]


async def recount(session: Any) -> tuple[Counts, Counts]:
    """The buckets (by shard) and the ties, counted from the totals the slow way."""
    totals = (await session.execute(select(ScoreTotal))).scalars().all()
    buckets: Counts = {}
    ties: Counts = {}
    for t in totals:
        key = (t.scope, t.period, t.points // 1000, t.user_id % BUCKET_SHARDS)
        buckets[key] = buckets.get(key, 0) + 1
        tie = (t.scope, t.period, t.points, t.seconds_ms // TIE_BAND_MS)
        ties[tie] = ties.get(tie, 0) + 1
    return buckets, ties


async def kept(session: Any) -> tuple[Counts, Counts]:
    """The buckets and ties the triggers keep (rows down to 0 players left out)."""
    buckets = (await session.execute(select(ScoreBucket))).scalars()
    ties = (await session.execute(select(ScoreTie))).scalars()
    return (
        {(b.scope, b.period, b.bucket, b.shard): b.players for b in buckets if b.players},
        {(t.scope, t.period, t.points, t.band): t.players for t in ties if t.players},
    )


def per_bucket(buckets: Counts) -> Counts:
    """Bucket counts summed over their shards."""
    summed: Counts = {}
    for (scope, period, bucket, _shard), players in buckets.items():
        summed[(scope, period, bucket)] = summed.get((scope, period, bucket), 0) + players
    return summed


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
        assert await kept(session) == await recount(session)
        assert per_bucket((await kept(session))[0]) == {
            ("g", "all", 0): 6,  # 0 and 700 points
            ("g", "all", 1): 3,  # 1400
            ("g", "all", 2): 3,  # 2100
        }
    assert await check_every_rank(empty_engine, ["g"]) == 12
    await migrate.downgrade(empty_engine, "0007")  # back to one row per bucket, no ties
    async with sessionmaker() as session:
        rows = (
            await session.execute(
                text("SELECT bucket, players FROM score_buckets WHERE players > 0")
            )
        ).all()
        assert dict(rows) == {0: 6, 1: 3, 2: 3}  # type: ignore[arg-type]
    await migrate.downgrade(empty_engine, "0003")
    await migrate.upgrade(empty_engine)
    async with sessionmaker() as session:
        assert await kept(session) == await recount(session)


async def test_ranks_with_heavy_ties(engine: AsyncEngine) -> None:
    """Most players on the same few scores, their answer times spread over a few bands, many
    in the same band and some with exactly the same time (then the earlier, then the lower
    id, is ahead): every rank still matches the full sort, after more answers move players
    between scores and bands."""
    sessionmaker, pack_id, items, users, runs = await _setup_run(engine, users=80)
    rng = random.Random(11)

    async def answer_all(rounds: int, start: datetime) -> None:
        async with sessionmaker() as session, session.begin():
            for n, (user_id, run_id) in enumerate(zip(users, runs, strict=True)):
                for k in range(rounds):
                    item_id = items[k % len(items)]
                    await repo.record_attempt(
                        session,
                        repo.NewAttempt(
                            run_id,
                            item_id,
                            user_id,
                            None,
                            pack_id,
                            None,
                            True,
                            1000 if n % 5 else 0,  # four in five tied on full points
                            rng.choice([1200, 1500, 1500, 1999, 2000, 2500]),
                            start + timedelta(seconds=n % 3),  # ties on reached_at too
                        ),
                    )

    await answer_all(2, NOW)
    scopes = ["g", f"p:{pack_id}"]
    async with sessionmaker() as session:
        board = await sorted_board(session, "g", "all")
        heaviest = max(
            (
                await session.execute(
                    select(ScoreTotal.points, func.count())
                    .where(ScoreTotal.scope == "g", ScoreTotal.period == "all")
                    .group_by(ScoreTotal.points)
                )
            ).all(),
            key=lambda row: row[1],
        )
    assert heaviest[1] >= 0.7 * len(board)  # really heavy ties
    assert await check_every_rank(engine, scopes) >= 4 * 60
    # The attempts go (the totals stay), so the same runs answer again: totals and bands move.
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(Attempt))
    await answer_all(1, NOW + timedelta(hours=1))
    assert await check_every_rank(engine, scopes) >= 4 * 60
