"""The answer path's direct transactions (bot.store.direct) on SQLite and PostgreSQL: values
stored and read exactly as the ORM stores and reads them, rollback, error translation, a
broken PostgreSQL connection replaced, turns on SQLite's kept connection, and the WAL
checkpoint thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Integer, func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.quiz import service
from bot.store import create_engine, make_sessionmaker, migrate, repo
from bot.store.direct import Direct, SessionTx, Tx
from bot.store.engine import WalCheckpointer, sqlite_connector
from bot.store.models import Attempt, ItemRow, PackRow, QuizRun, User

NOW = datetime(2026, 11, 20, 12, 0, 0, 123456, tzinfo=UTC)


async def a_run(engine: AsyncEngine) -> tuple[int, int, int]:
    """A user, a pack of three items (7, 8, 9) and an active run; returns their ids."""
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        user_id = await repo.upsert_telegram_user(session, 501, "Ann", "ann", NOW)
        pack = PackRow(
            slug="p",
            title="P",
            language="en",
            description="",
            article_name="a.txt",
            article_text="",
            article_hash="",
            content_hash="h",
            settings={},
            created_at=NOW,
            updated_at=NOW,
        )
        session.add(pack)
        await session.flush()
        for n in (7, 8, 9):
            session.add(
                ItemRow(
                    id=n,
                    pack_id=pack.id,
                    key=f"i{n}",
                    type="short",
                    position=n,
                    body={},
                    content_hash="h",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        await session.flush()
        run = QuizRun(
            kind="private",
            mode="full",
            user_id=user_id,
            pack_id=pack.id,
            status="active",
            item_order=[7, 8, 9],
            option_orders={"7": [2, 0, 1], "8": [0, 1], "9": []},
            position=0,
            phase="answered",
            selected=[1, 2],
            options={},
            asked_at=NOW,
            score=0,
            correct=0,
            answered=0,
            started_at=NOW,
            updated_at=NOW,
        )
        session.add(run)
        await session.flush()
        return user_id, pack.id, run.id


async def test_rows_read_alike_through_the_driver_and_the_orm(engine: AsyncEngine) -> None:
    """JSON, datetimes (aware, UTC, microseconds) and booleans: the same values either way."""
    _, _, run_id = await a_run(engine)
    direct = Direct(engine)
    async with direct.transaction() as tx:
        plan = await tx.first(service._PLAN, {"b_run": run_id})
        state = await tx.first(service._STATE, {"b_run": run_id})
        user = await tx.first(repo.STANDING, {"scope": "g", "period": "all", "user_id": 1})
    async with make_sessionmaker(engine)() as session:
        orm_plan = await SessionTx(session).first(service._PLAN, {"b_run": run_id})
        orm_state = await SessionTx(session).first(service._STATE, {"b_run": run_id})
    assert tuple(plan) == tuple(orm_plan)
    assert plan.item_order == [7, 8, 9]
    assert plan.option_orders == {"7": [2, 0, 1], "8": [0, 1], "9": []}
    assert tuple(state) == tuple(orm_state) == ("active", "answered", 0, [1, 2])
    assert user is None  # no totals yet: a statement that finds nothing gives None


async def test_values_written_through_the_driver_read_back_through_the_orm(
    engine: AsyncEngine,
) -> None:
    user_id, pack_id, run_id = await a_run(engine)
    later = NOW + timedelta(seconds=3, microseconds=7)
    direct = Direct(engine)
    async with direct.transaction() as tx:
        moved = await tx.first(service._CLAIM_NEXT, {"b_run": run_id, "b_from": 0, "b_now": later})
        assert moved.position == 1
        attempt = repo.NewAttempt(run_id, 7, user_id, None, pack_id, "ja", True, 1000, 2500, later)
        assert await repo.record_attempt(tx, attempt) is True
        assert await repo.record_attempt(tx, attempt) is False  # recorded once
    async with make_sessionmaker(engine)() as session:
        run = await session.get(QuizRun, run_id)
        stored = (await session.execute(select(Attempt))).scalar_one()
        standing = await repo.standing_of(session, f"p:{pack_id}", "week", user_id)
    assert run is not None
    assert (run.position, run.phase, run.selected, run.message_id) == (1, "asking", [], None)
    assert run.asked_at == later and run.asked_at.tzinfo is not None
    assert (stored.correct, stored.response, stored.answered_at) == (True, "ja", later)
    assert standing is not None and (standing.rank, standing.points) == (1, 1000)


async def test_a_failed_block_rolls_everything_back(engine: AsyncEngine) -> None:
    _, _, run_id = await a_run(engine)
    direct = Direct(engine)
    with pytest.raises(RuntimeError):
        async with direct.transaction() as tx:
            await tx.first(service._CLAIM_NEXT, {"b_run": run_id, "b_from": 0, "b_now": NOW})
            raise RuntimeError("the handler failed")
    async with make_sessionmaker(engine)() as session:
        run = await session.get(QuizRun, run_id)
    assert run is not None and (run.position, run.phase) == (0, "answered")


async def test_driver_errors_become_sqlalchemy_errors(engine: AsyncEngine) -> None:
    _, _, run_id = await a_run(engine)
    direct = Direct(engine)
    duplicate = text(
        "INSERT INTO users (telegram_id, name, hidden, active, created_at, last_seen_at) "
        "SELECT telegram_id, name, hidden, active, created_at, last_seen_at FROM users"
    )
    with pytest.raises(IntegrityError):
        async with direct.transaction() as tx:
            await tx.execute(duplicate, {})
    # The connection is usable afterwards, and the failed transaction left nothing.
    async with direct.transaction() as tx:
        assert (await tx.first(service._STATE, {"b_run": run_id})).status == "active"
    async with make_sessionmaker(engine)() as session:
        assert (await session.execute(select(func.count()).select_from(User))).scalar() == 1


@pytest.mark.postgres
async def test_a_broken_postgres_connection_is_replaced(pg_url: str | None) -> None:
    if pg_url is None:
        pytest.skip("QUIZBOT_TEST_POSTGRES_URL is not set")
    # No pre-ping: the connection dies between checkout and use, the case pings cannot catch.
    engine = create_engine(pg_url, pool_size=1, max_overflow=0, pool_pre_ping=False)
    try:
        direct = Direct(engine)
        async with direct.transaction() as tx:
            pid = (
                await tx.first(text("SELECT pg_backend_pid() AS pid").columns(pid=Integer()), {})
            )[0]
        sessionmaker = make_sessionmaker(engine)
        # Kill that connection from another one, as a server restart would.
        killer = create_engine(pg_url)
        try:
            async with killer.begin() as connection:
                await connection.execute(text(f"SELECT pg_terminate_backend({pid})"))
        finally:
            await killer.dispose()
        with pytest.raises(OperationalError) as failed:
            async with direct.transaction() as tx:
                await tx.first(service._STATE, {"b_run": 1})
        assert failed.value.connection_invalidated
        # The pool's only connection was replaced: the next transaction works.
        async with direct.transaction() as tx:
            assert await tx.first(service._STATE, {"b_run": -1}) is None
        async with sessionmaker() as session:
            assert (await session.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_sqlite_transactions_take_turns_on_their_connection(tmp_path: Path) -> None:
    """Concurrent tasks share the kept connection one transaction at a time: every write
    lands, none is lost or mixed into another's transaction."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
    try:
        await migrate.upgrade(engine)
        direct = Direct(engine)

        async def register(n: int) -> None:
            async with direct.transaction() as tx:
                await repo.upsert_telegram_user(tx, 1000 + n, f"P{n}", None, NOW)
                await asyncio.sleep(0)  # let the others try to get in
                if n % 5 == 0:
                    raise ValueError(n)

        results = await asyncio.gather(*(register(n) for n in range(50)), return_exceptions=True)
        assert sum(isinstance(r, ValueError) for r in results) == 10
        async with make_sessionmaker(engine)() as session:
            count = (await session.execute(select(func.count()).select_from(User))).scalar()
        assert count == 40
    finally:
        await engine.dispose()
    assert direct._own is None  # disposing the engine closed the kept connection


async def test_in_memory_sqlite_uses_the_pool(tmp_path: Path) -> None:
    engine = create_engine("sqlite+aiosqlite://")
    try:
        await migrate.upgrade(engine)
        assert sqlite_connector(engine) is None
        tx: Tx
        async with Direct(engine).transaction() as tx:
            await repo.upsert_telegram_user(tx, 7, "Mem", None, NOW)
        async with make_sessionmaker(engine)() as session:
            assert await repo.user_id_for_telegram(session, 7) is not None
    finally:
        await engine.dispose()


def test_the_checkpoint_thread_copies_the_wal_into_the_database(tmp_path: Path) -> None:
    """Writes go to the WAL; only a checkpoint grows the database file itself."""
    path = tmp_path / "c.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # no checkpoint but the thread's
    writer.execute("CREATE TABLE t (v TEXT)")
    for n in range(200):
        writer.execute("INSERT INTO t VALUES (?)", (str(n) * 50,))
    before = path.stat().st_size
    time.sleep(0.1)
    assert path.stat().st_size == before  # nothing checkpoints on its own
    checkpointer = WalCheckpointer(str(path), interval=0.02)
    checkpointer.start()
    try:
        deadline = time.monotonic() + 5
        while path.stat().st_size == before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert path.stat().st_size > before + 100 * 50
    finally:
        checkpointer.stop()
        writer.close()
    assert checkpointer._thread is None
    checkpointer.start()  # a stopped checkpointer does not start again
    assert checkpointer._thread is None


async def test_the_engine_runs_the_checkpoint_thread_until_disposed(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
    await migrate.upgrade(engine)
    started = [t for t in set(threading.enumerate()) - before if t.name == "sqlite-checkpoint"]
    assert len(started) == 1 and started[0].is_alive()
    await engine.dispose()
    assert not started[0].is_alive()
