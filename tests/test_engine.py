"""The one way to the database (bot.store.engine, SQLAlchemy's async API on aiosqlite and
asyncpg), on SQLite and PostgreSQL: the answer path's statements read and write values exactly
as the ORM does, a unit of work commits or rolls back as a whole, errors are SQLAlchemy's,
a broken PostgreSQL connection is replaced, concurrent SQLite writers wait their turn, and a
slow SQLite statement never holds the event loop."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from bot.quiz import review, service
from bot.quiz.catalog import Catalog
from bot.quiz.service import Player, QuizService
from bot.store import create_engine, make_sessionmaker, migrate, repo
from bot.store.models import Attempt, ItemRow, PackRow, QuizRun, ReviewCard, User

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


async def test_the_answer_path_statements_read_what_the_orm_wrote(engine: AsyncEngine) -> None:
    """JSON, datetimes (aware, UTC, microseconds) and booleans come back as they went in."""
    _, _, run_id = await a_run(engine)
    async with make_sessionmaker(engine)() as session:
        plan = (await session.execute(service._PLAN, {"b_run": run_id})).one()
        state = (await session.execute(service._STATE, {"b_run": run_id})).one()
        nobody = (
            await session.execute(repo.STANDING, {"scope": "g", "period": "all", "user_id": 1})
        ).first()
        run = await session.get(QuizRun, run_id)
    assert run is not None
    assert plan.item_order == [7, 8, 9] == run.item_order
    assert plan.option_orders == {"7": [2, 0, 1], "8": [0, 1], "9": []}
    assert tuple(state) == ("active", "answered", 0, [1, 2])
    assert nobody is None  # no totals yet


async def test_values_written_by_the_answer_path_read_back_through_the_orm(
    engine: AsyncEngine,
) -> None:
    user_id, pack_id, run_id = await a_run(engine)
    later = NOW + timedelta(seconds=3, microseconds=7)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        moved = (
            await session.execute(
                service._CLAIM_NEXT, {"b_run": run_id, "b_from": 0, "b_now": later}
            )
        ).one()
        assert moved.position == 1
        attempt = repo.NewAttempt(run_id, 7, user_id, None, pack_id, "ja", True, 1000, 2500, later)
        assert await repo.record_attempt(session, attempt) is True
        assert await repo.record_attempt(session, attempt) is False  # recorded once
    async with sessionmaker() as session:
        run = await session.get(QuizRun, run_id)
        stored = (await session.execute(select(Attempt))).scalar_one()
        standing = await repo.standing_of(session, f"p:{pack_id}", "week", user_id)
    assert run is not None
    assert (run.position, run.phase, run.selected, run.message_id) == (1, "asking", [], None)
    assert run.asked_at == later and run.asked_at.tzinfo is not None
    assert (stored.correct, stored.response, stored.answered_at) == (True, "ja", later)
    assert standing is not None and (standing.rank, standing.points) == (1, 1000)


async def test_a_failed_unit_of_work_keeps_nothing_and_forgets_the_new_user(
    engine: AsyncEngine,
) -> None:
    """The user id cached during a transaction that rolled back is not trusted afterwards
    (the bug the second path had: a cached id of a row that never existed)."""
    _, _, run_id = await a_run(engine)
    quiz = QuizService(make_sessionmaker(engine), Catalog())
    newcomer = Player(telegram_id=777, name="Nia")

    async def work(session: AsyncSession) -> None:
        await quiz.user_id(session, newcomer)
        await session.execute(service._CLAIM_NEXT, {"b_run": run_id, "b_from": 0, "b_now": NOW})
        raise RuntimeError("the handler failed")

    with pytest.raises(RuntimeError):
        await quiz.in_transaction(newcomer, work)
    async with make_sessionmaker(engine)() as session:
        run = await session.get(QuizRun, run_id)
        assert await repo.user_id_for_telegram(session, 777) is None
    assert run is not None and (run.position, run.phase) == (0, "answered")
    # The next unit of work registers the player for real.
    user_id = await quiz.in_transaction(newcomer, lambda s: quiz.user_id(s, newcomer))
    async with make_sessionmaker(engine)() as session:
        assert await repo.user_id_for_telegram(session, 777) == user_id


async def test_database_errors_are_sqlalchemy_errors(engine: AsyncEngine) -> None:
    _, _, run_id = await a_run(engine)
    sessionmaker = make_sessionmaker(engine)
    duplicate = text(
        "INSERT INTO users (telegram_id, name, hidden, active, created_at, last_seen_at) "
        "SELECT telegram_id, name, hidden, active, created_at, last_seen_at FROM users"
    )
    with pytest.raises(IntegrityError):
        async with sessionmaker() as session, session.begin():
            await session.execute(duplicate)
    # The pool's connection is usable afterwards, and the failed transaction left nothing.
    async with sessionmaker() as session:
        assert (await session.execute(service._STATE, {"b_run": run_id})).one().status == "active"
        assert (await session.execute(select(func.count()).select_from(User))).scalar() == 1


@pytest.mark.postgres
async def test_a_broken_postgres_connection_is_replaced(pg_url: str | None) -> None:
    if pg_url is None:
        pytest.skip("QUIZBOT_TEST_POSTGRES_URL is not set")
    engine = create_engine(pg_url, pool_size=1, max_overflow=0)
    try:
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker() as session:
            pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        killer = create_engine(pg_url)
        try:
            async with killer.begin() as connection:
                await connection.execute(text(f"SELECT pg_terminate_backend({pid})"))
            for _ in range(100):  # bounded: the backend exits within milliseconds
                async with killer.connect() as connection:
                    gone = not (
                        await connection.execute(
                            text(f"SELECT 1 FROM pg_stat_activity WHERE pid = {pid}")
                        )
                    ).first()
                if gone:
                    break
                await asyncio.sleep(0.02)
        finally:
            await killer.dispose()
        # Let the event loop hand the closed socket to the driver (under load this can trail
        # the backend's exit), as it has long done by the time a real update arrives.
        await asyncio.sleep(0.2)
        # The pool's only connection died while idle, as in a server restart: the checkout
        # finds it closed and replaces it (no ping), and the next unit of work works.
        async with sessionmaker() as session:
            other = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        assert other != pid
    finally:
        await engine.dispose()


async def test_concurrent_sqlite_writers_take_turns(tmp_path: Path) -> None:
    """BEGIN IMMEDIATE and the busy timeout: concurrent transactions on several pooled
    connections each land whole or not at all."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
    try:
        await migrate.upgrade(engine)
        sessionmaker = make_sessionmaker(engine)

        async def register(n: int) -> None:
            async with sessionmaker() as session, session.begin():
                await repo.upsert_telegram_user(session, 1000 + n, f"P{n}", None, NOW)
                await asyncio.sleep(0)  # let the others try to get in
                if n % 5 == 0:
                    raise ValueError(n)

        results = await asyncio.gather(*(register(n) for n in range(50)), return_exceptions=True)
        assert sum(isinstance(r, ValueError) for r in results) == 10
        assert not [r for r in results if r is not None and not isinstance(r, ValueError)]
        async with sessionmaker() as session:
            count = (await session.execute(select(func.count()).select_from(User))).scalar()
        assert count == 40
    finally:
        await engine.dispose()


async def test_a_slow_sqlite_statement_does_not_hold_the_event_loop(tmp_path: Path) -> None:
    """SQLite runs in aiosqlite's thread: while a statement computes for a long time, the
    loop keeps serving other tasks."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'q.db'}")
    slow = text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) "
        "SELECT count(*) FROM n"
    )
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))  # open the connection first
            query = asyncio.ensure_future(connection.execute(slow))
            started = time.perf_counter()
            gaps = []
            while not query.done():
                before = time.perf_counter()
                await asyncio.sleep(0.002)
                gaps.append(time.perf_counter() - before)
            took = time.perf_counter() - started
            assert (await query).scalar() == 3_000_000
        assert took > 0.1, "the statement should take a while for this test to mean anything"
        assert len(gaps) > 10
        assert max(gaps) < 0.1, f"the loop stalled for {max(gaps) * 1000:.0f} ms"
    finally:
        await engine.dispose()


async def test_scheduling_a_runs_review_cards_never_sleeps_on_the_loop(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsrs's Card() without an id calls time.sleep(0.001) per card: 34 ms held at the end
    of each 34-item run. New cards get an id, so nothing sleeps."""
    user_id, pack_id, run_id = await a_run(engine)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        for item_id in (7, 8, 9):
            attempt = repo.NewAttempt(
                run_id, item_id, user_id, None, pack_id, "x", item_id != 8, 0, 10, NOW
            )
            await repo.record_attempt(session, attempt)

    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) on the event loop's thread")

    monkeypatch.setattr(time, "sleep", no_sleep)
    async with sessionmaker() as session, session.begin():
        assert (await review.schedule_run(session, run_id, user_id, NOW)).cards == 3
    monkeypatch.undo()
    async with sessionmaker() as session:
        cards = (await session.execute(select(ReviewCard).order_by(ReviewCard.item_id))).scalars()
        lapses = [(c.item_id, c.reviews, c.lapses) for c in cards]
    assert lapses == [(7, 1, 0), (8, 1, 1), (9, 1, 0)]


async def test_a_language_choice_is_stored_per_user_and_per_group(engine: AsyncEngine) -> None:
    """/language is remembered in the database: a new service (a restart) reads it back."""
    quiz = QuizService(make_sessionmaker(engine), Catalog())
    ann, bo = Player(telegram_id=501, name="Ann"), Player(telegram_id=502, name="Bo")
    assert await quiz.chosen_language(501, None) is None  # not even a user yet
    await quiz.choose_language(ann, "uk")
    await quiz.register(bo)
    await quiz.choose_group_language(-1001, "supergroup", "Class 7b", "es")
    again = QuizService(make_sessionmaker(engine), Catalog())
    assert await again.chosen_language(501, None) == "uk"
    assert await again.chosen_language(502, None) is None
    assert await again.chosen_language(501, -1001) == "es"  # in the group, the group's
    assert await again.chosen_language(501, -1002) is None  # a group nobody set
    await again.choose_language(ann, None)
    assert await quiz.chosen_language(501, None) is None
