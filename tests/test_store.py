"""Store tests on SQLite and PostgreSQL, with the schema built by the Alembic migrations."""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
import warnings
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.packs import Pack, item_body, item_hash, validate_pack_file
from bot.store import StoreError, create_engine, describe_error, make_sessionmaker, migrate, repo
from bot.store.importer import import_files, import_pack, plan_import
from bot.store.models import (
    Attempt,
    Base,
    Chat,
    ItemRow,
    PackRow,
    QuizRun,
    ScoreTotal,
)
from botkit import BACKENDS, CONTENT, ROOT, create_pg_database, drop_pg_database, pg_base_url

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ARTICLE = ROOT / "seeds" / "biden-atacms-2024.txt"


def pack_file(folder: Path, items: list[str], slug: str = "mini") -> Path:
    """Write a small valid pack whose items are the given YAML snippets."""
    body = "\n".join(items)
    path = folder / f"{slug}.yaml"
    path.write_text(
        f"pack: {slug}\ntitle: Mini\ndescription: A small pack.\narticle: {ARTICLE}\n"
        f"items:\n{body}\n",
        encoding="utf-8",
    )
    return path


def tf_item(item_id: str, answer: str = "true", question: str = "Is it so?") -> str:
    return (
        f"  - id: {item_id}\n    type: truefalse\n    question: {question}\n"
        f"    answer: {answer}\n    explanation: Because.\n"
        "    source: capable of hitting targets nearly 200 miles away\n"
        "    difficulty: easy\n    skill: detail"
    )


def a_run(
    kind: str, user_id: int, pack_id: int, item_ids: list[int | None], chat_id: int | None = None
) -> QuizRun:
    """An active run at its first item, as the engine would start it."""
    return QuizRun(
        kind=kind,
        mode="full",
        chat_id=chat_id,
        user_id=user_id,
        pack_id=pack_id,
        status="active",
        item_order=item_ids,
        option_orders={},
        position=0,
        phase="asking",
        selected=[],
        options={},
        score=0,
        correct=0,
        answered=0,
        started_at=NOW,
        updated_at=NOW,
    )


# --------------------------------------------------------------------------- migrations


async def _compare(engine: AsyncEngine) -> list[object]:
    def run(connection: object) -> list[object]:
        dialect = connection.dialect.name  # type: ignore[attr-defined]
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_object": migrate.include_object_for(dialect),
            },
        )
        with warnings.catch_warnings():
            # SQLite cannot reflect the expression index (points DESC); PostgreSQL can and
            # does compare it. Its presence on SQLite is checked in test_rank_index_exists.
            warnings.filterwarnings("ignore", message=".*expression-based index.*")
            return list(compare_metadata(context, Base.metadata))

    async with engine.connect() as connection:
        return await connection.run_sync(run)


@pytest.fixture(params=BACKENDS)
async def empty_engine(request: pytest.FixtureRequest, tmp_path: Path):
    """A database with no schema at all."""
    if request.param == "postgres":
        base = pg_base_url()
        if base is None:
            pytest.skip("QUIZBOT_TEST_POSTGRES_URL is not set")
        url = await asyncio.to_thread(create_pg_database, base, "quizbot_migr")
        engine = create_engine(url)
        try:
            yield engine
        finally:
            await engine.dispose()
            await asyncio.to_thread(drop_pg_database, url)
    else:
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
        try:
            yield engine
        finally:
            await engine.dispose()


async def test_models_and_migrations_agree(empty_engine: AsyncEngine) -> None:
    await migrate.upgrade(empty_engine)
    assert await _compare(empty_engine) == []
    assert await migrate.current_revision(empty_engine) == migrate.head_revision()


async def test_rank_index_exists(engine: AsyncEngine) -> None:
    """The ranking index that autogenerate cannot compare on SQLite is really there."""
    async with engine.connect() as connection:
        names = await connection.run_sync(
            lambda c: [i["name"] for i in c.dialect.get_indexes(c, "score_totals")]  # type: ignore[attr-defined]
        )
    assert "ix_score_totals_rank" in names


async def test_upgrade_downgrade_upgrade(empty_engine: AsyncEngine) -> None:
    await migrate.upgrade(empty_engine)
    await migrate.downgrade(empty_engine, "base")
    async with empty_engine.connect() as connection:
        tables = await connection.run_sync(
            lambda c: c.dialect.get_table_names(c)  # type: ignore[no-any-return]
        )
    assert set(tables) <= {"alembic_version"}
    await migrate.upgrade(empty_engine)
    assert await _compare(empty_engine) == []


def test_migrations_run_from_any_directory(tmp_path: Path) -> None:
    """`quizbot db upgrade` finds the migrations wherever it is started."""
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "head" in done.stdout


async def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    try:
        async with engine.connect() as connection:
            fk = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
            journal = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
            timeout = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
        # SQLite waits for a lock in aiosqlite's thread, off the event loop.
        assert (fk, journal, timeout) == (1, "wal", 10_000)
    finally:
        await engine.dispose()


async def test_sqlite_lock_wait_leaves_the_event_loop_free(tmp_path: Path) -> None:
    """A writer that finds the database locked by another connection waits without blocking
    the event loop, goes on once the lock is free, and gives up after the busy timeout."""
    path = tmp_path / "w.db"
    holder = create_engine(f"sqlite+aiosqlite:///{path}")
    waiter = create_engine(f"sqlite+aiosqlite:///{path}")
    impatient = create_engine(f"sqlite+aiosqlite:///{path}", connect_args={"timeout": 0.1})
    await migrate.upgrade(holder)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    async def write(name: str, engine: AsyncEngine = waiter) -> None:
        async with make_sessionmaker(engine)() as session, session.begin():
            await repo.upsert_local_user(session, name, NOW)

    ticker = asyncio.create_task(tick())
    try:
        async with holder.connect() as locked:
            await locked.exec_driver_sql("SELECT 1")  # BEGIN IMMEDIATE: the write lock
            blocked = asyncio.create_task(write("ann"))
            await asyncio.sleep(0.2)
            assert not blocked.done() and ticks >= 10
            await locked.commit()
            await asyncio.wait_for(blocked, 5)
            await locked.exec_driver_sql("SELECT 1")
            with pytest.raises(OperationalError, match="locked"):
                await write("bob", impatient)
    finally:
        ticker.cancel()
        await holder.dispose()
        await waiter.dispose()
        await impatient.dispose()


# --------------------------------------------------------------------------- engine errors


def test_bad_url_is_one_line() -> None:
    with pytest.raises(StoreError) as caught:
        create_engine("not a url")
    assert "is not a database URL" in str(caught.value)
    assert "\n" not in str(caught.value)
    with pytest.raises(StoreError, match="supports sqlite and postgresql"):
        create_engine("mysql://root@localhost/db")


async def test_unreachable_server_is_one_line() -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere"
    engine = create_engine(url)
    try:
        with pytest.raises(Exception) as caught:
            await migrate.upgrade(engine)
    finally:
        await engine.dispose()
    message = describe_error(caught.value, url)
    assert message.startswith("cannot reach the database server")
    assert "\n" not in message


async def test_read_only_file_is_one_line(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root ignores file permissions; a read-only open is the same failure for SQLite.
        path = tmp_path / "ro.db"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        await engine.dispose()
        engine = create_engine(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    else:
        folder = tmp_path / "locked"
        folder.mkdir()
        path = folder / "ro.db"
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        await engine.dispose()
        path.chmod(stat.S_IRUSR)
        folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        with pytest.raises(Exception) as caught:
            async with make_sessionmaker(engine)() as session, session.begin():
                await repo.upsert_local_user(session, "ann", NOW)
    finally:
        await engine.dispose()
        shutil.rmtree(tmp_path, ignore_errors=True)
    message = describe_error(caught.value)
    assert "read-only" in message
    assert "\n" not in message


def test_cli_reports_store_errors_in_one_line(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/none"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "pack", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("quizbot: error: cannot reach the database server")
    assert "Traceback" not in done.stderr


# --------------------------------------------------------------------------- import


async def _counts(engine: AsyncEngine) -> dict[str, object]:
    async with make_sessionmaker(engine)() as session:
        packs = (
            await session.execute(select(PackRow.slug, PackRow.content_hash, PackRow.updated_at))
        ).all()
        items = (
            await session.execute(
                select(
                    ItemRow.key, ItemRow.content_hash, ItemRow.retired, ItemRow.updated_at
                ).order_by(ItemRow.key)
            )
        ).all()
    return {"packs": packs, "items": items}


@pytest.mark.parametrize("engine", BACKENDS, indirect=True)
async def test_import_twice_changes_nothing(engine: AsyncEngine) -> None:
    sessionmaker = make_sessionmaker(engine)
    first = await import_files(sessionmaker, [CONTENT], NOW)
    assert first.ok and first.plans[0].new_pack
    before = await _counts(engine)
    second = await import_files(sessionmaker, [CONTENT], NOW + timedelta(hours=1))
    assert not second.plans[0].changes_anything
    assert second.plans[0].describe().endswith("unchanged (34 items)")
    assert await _counts(engine) == before


async def test_import_edit_updates_adds_retires_and_keeps_history(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    sessionmaker = make_sessionmaker(engine)
    path = pack_file(tmp_path, [tf_item("a"), tf_item("b"), tf_item("c")])
    await import_files(sessionmaker, [path], NOW)
    async with sessionmaker() as session, session.begin():
        user_id = await repo.upsert_local_user(session, "ann", NOW)
        pack_id = (await session.execute(select(PackRow.id))).scalar_one()
        item_c = (await session.execute(select(ItemRow.id).where(ItemRow.key == "c"))).scalar()
        run = a_run("terminal", user_id, pack_id, [item_c])
        session.add(run)
        await session.flush()
        assert item_c is not None
        await repo.record_attempt(
            session,
            repo.NewAttempt(
                run.id, item_c, user_id, None, pack_id, '["True"]', True, 1000, 900, NOW
            ),
        )

    # b changes, c disappears, d is new; a stays.
    pack_file(tmp_path, [tf_item("a"), tf_item("b", "false"), tf_item("d")])
    report = validate_pack_file(path)
    assert report.pack is not None
    async with sessionmaker() as session, session.begin():
        plan = await plan_import(session, report.pack)
    assert (plan.added, plan.updated, plan.retired, plan.unchanged) == (["d"], ["b"], ["c"], 1)
    outcome = await import_files(sessionmaker, [path], NOW + timedelta(days=1))
    assert outcome.plans[0].describe() == "mini: 1 added, 1 updated, 1 retired, 1 unchanged"

    async with sessionmaker() as session:
        rows = {r.key: r for r in (await session.execute(select(ItemRow))).scalars()}
        attempts = (await session.execute(select(func.count()).select_from(Attempt))).scalar()
    assert set(rows) == {"a", "b", "c", "d"}
    assert rows["c"].retired and not rows["a"].retired and not rows["d"].retired
    assert rows["b"].body["answer"] is False
    assert attempts == 1  # the retired item keeps its history
    assert_rows_hold(rows, report.pack, pack_id)
    assert (rows["a"].updated_at, rows["b"].updated_at) == (NOW, NOW + timedelta(days=1))
    assert (rows["b"].created_at, rows["d"].created_at) == (NOW, NOW + timedelta(days=1))
    assert (rows["c"].updated_at, rows["c"].position) == (NOW + timedelta(days=1), 2)

    # c comes back: restored, not duplicated; the items after a removed one move up.
    pack_file(tmp_path, [tf_item("a"), tf_item("d"), tf_item("b", "false"), tf_item("c")])
    report = validate_pack_file(path)
    assert report.pack is not None
    outcome = await import_files(sessionmaker, [path], NOW + timedelta(days=2))
    assert outcome.plans[0].describe() == "mini: 0 added, 3 updated, 0 retired, 1 unchanged"
    assert outcome.plans[0].updated == ["d", "b", "c"]
    async with sessionmaker() as session:
        restored = {r.key: r for r in (await session.execute(select(ItemRow))).scalars()}
    assert {key: row.id for key, row in restored.items()} == {k: r.id for k, r in rows.items()}
    assert not restored["c"].retired
    assert_rows_hold(restored, report.pack, pack_id)
    assert restored["a"].updated_at == NOW
    assert {restored[k].updated_at for k in "bcd"} == {NOW + timedelta(days=2)}


def assert_rows_hold(rows: dict[str, ItemRow], pack: Pack | None, pack_id: int) -> None:
    """The live rows are exactly the pack's items, in its order."""
    assert pack is not None
    for position, item in enumerate(pack.items):
        row = rows[item.id]
        assert (row.pack_id, row.type, row.position, row.retired) == (
            pack_id,
            item.type,
            position,
            False,
        )
        assert (row.body, row.content_hash) == (item_body(item), item_hash(item))


@pytest.mark.parametrize("engine", BACKENDS, indirect=True)
async def test_imported_rows_are_stored_as_the_orm_stores_them(engine: AsyncEngine) -> None:
    """The importer writes items on the driver connection: the values in the database must be
    those the ORM would have written, to the byte."""
    sessionmaker = make_sessionmaker(engine)
    outcome = await import_files(sessionmaker, [CONTENT / "atacms-2024.yaml"], NOW)
    assert outcome.ok and outcome.plans[0].new_pack
    async with sessionmaker() as session, session.begin():
        imported = (await session.execute(select(PackRow))).scalar_one()
        copy = PackRow(
            **{
                c.key: getattr(imported, c.key)
                for c in PackRow.__table__.columns
                if c.key not in ("id", "slug")
            },
            slug="copy",
        )
        session.add(copy)
        await session.flush()
        for row in (await session.execute(select(ItemRow))).scalars().all():
            session.add(
                ItemRow(
                    pack_id=copy.id,
                    key=row.key,
                    type=row.type,
                    position=row.position,
                    body=row.body,
                    content_hash=row.content_hash,
                    retired=False,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        copy_id, imported_id = copy.id, imported.id
    raw = text(
        "SELECT key, type, position, CAST(body AS TEXT), content_hash, retired, created_at, "
        "updated_at FROM items WHERE pack_id = :pack ORDER BY position"
    )
    async with engine.connect() as connection:
        by_importer = (await connection.execute(raw, {"pack": imported_id})).all()
        by_orm = (await connection.execute(raw, {"pack": copy_id})).all()
    assert len(by_importer) == 34
    assert by_importer == by_orm


@pytest.mark.parametrize("engine", BACKENDS, indirect=True)
async def test_a_failed_item_write_is_sqlalchemys_error(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """Items are written on the driver connection; its errors still reach callers (the CLI,
    the bot) as SQLAlchemy's, and nothing of the pack is kept."""
    report = validate_pack_file(pack_file(tmp_path, [tf_item("a"), tf_item("b")]))
    assert report.pack is not None
    # Two items with one id, which validation would have refused: the second row breaks the
    # items' unique key.
    twice = report.pack.model_copy(update={"items": (*report.pack.items, report.pack.items[0])})
    with pytest.raises(IntegrityError):
        async with make_sessionmaker(engine)() as session, session.begin():
            await import_pack(session, twice, NOW)
    assert await _counts(engine) == {"packs": [], "items": []}


async def test_broken_pack_leaves_store_untouched(engine: AsyncEngine, tmp_path: Path) -> None:
    sessionmaker = make_sessionmaker(engine)
    good = pack_file(tmp_path, [tf_item("a")], slug="good")
    await import_files(sessionmaker, [good], NOW)
    before = await _counts(engine)
    pack_file(tmp_path, [tf_item("a", "false"), tf_item("b")], slug="good")
    broken = pack_file(tmp_path, [tf_item("x", question='""')], slug="broken")
    outcome = await import_files(sessionmaker, [good, broken], NOW + timedelta(days=1))
    assert not outcome.ok
    assert any("`question` is empty" in str(p) for r in outcome.reports for p in r.problems)
    assert outcome.plans == []
    assert await _counts(engine) == before


# --------------------------------------------------------------------------- attempts


async def _setup_run(engine: AsyncEngine, users: int, chat_id: int | None = -100):
    """A pack with one item, ``users`` players and one run each."""
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        report = validate_pack_file(CONTENT / "atacms-2024.yaml")
        assert report.pack is not None
        await import_pack(session, report.pack, NOW)
        pack_id = (await session.execute(select(PackRow.id))).scalar_one()
        item_ids = list((await session.execute(select(ItemRow.id).order_by(ItemRow.id))).scalars())
        if chat_id is not None:
            session.add(Chat(id=chat_id, type="supergroup", title="Class", created_at=NOW))
        user_ids, run_ids = [], []
        for n in range(users):
            uid = await repo.upsert_telegram_user(session, 10_000 + n, f"user{n}", None, NOW)
            run = a_run("private", uid, pack_id, item_ids, chat_id)
            session.add(run)
            await session.flush()
            user_ids.append(uid)
            run_ids.append(run.id)
    return sessionmaker, pack_id, item_ids, user_ids, run_ids


async def test_concurrent_attempts_are_stored_exactly_once(engine: AsyncEngine) -> None:
    """200 tasks at once: duplicates of the same press, and many users answering together."""
    sessionmaker, pack_id, items, users, runs = await _setup_run(engine, users=20)
    jobs = []
    for n in range(200):
        player = n % 20
        item = items[(n // 20) % 5]  # each (run, item) pair is pressed twice
        jobs.append(
            repo.NewAttempt(
                runs[player],
                item,
                users[player],
                -100,
                pack_id,
                "[]",
                n % 3 == 0,
                1000 if n % 3 == 0 else 0,
                1000 + n,
                NOW + timedelta(seconds=n),
            )
        )

    async def record(attempt: repo.NewAttempt) -> bool:
        async with sessionmaker() as session, session.begin():
            return await repo.record_attempt(session, attempt)

    results = await asyncio.gather(*(record(a) for a in jobs))
    assert sum(results) == 100  # 20 players x 5 items, each pressed twice

    async with sessionmaker() as session:
        stored = (
            await session.execute(
                select(
                    Attempt.user_id,
                    func.count(),
                    func.sum(Attempt.score),
                    func.sum(Attempt.latency_ms),
                ).group_by(Attempt.user_id)
            )
        ).all()
        totals = {
            (row.scope, row.period, row.user_id): row
            for row in (await session.execute(select(ScoreTotal))).scalars()
        }
    assert sum(count for _, count, _, _ in stored) == 100
    for user_id, count, points, ms in stored:
        for scope in ("g", f"p:{pack_id}", "c:-100", f"cp:-100:{pack_id}"):
            for period in ("all", "week"):
                total = totals[(scope, period, user_id)]
                assert (total.answered, total.points, total.seconds_ms) == (count, points, ms)


async def test_a_private_chat_keeps_no_board_of_its_own(engine: AsyncEngine) -> None:
    """Only group chats (negative ids) have chat boards; /leaderboard in a private chat shows
    everyone's, so a private answer adds to the global and pack totals only."""
    sessionmaker, pack_id, items, users, runs = await _setup_run(engine, users=1)
    private_chat = 4242
    async with sessionmaker() as session, session.begin():
        await repo.upsert_chat(session, private_chat, "private", None, NOW)
        attempt = repo.NewAttempt(
            runs[0], items[0], users[0], private_chat, pack_id, None, True, 1000, 5, NOW
        )
        assert await repo.record_attempt(session, attempt)
        scopes = (await session.execute(select(ScoreTotal.scope).distinct())).scalars().all()
    assert sorted(scopes) == sorted(["g", f"p:{pack_id}"])
    assert repo.scopes_for(-100, pack_id) == ["g", f"p:{pack_id}", "c:-100", f"cp:-100:{pack_id}"]


async def test_practice_attempts_do_not_count(engine: AsyncEngine) -> None:
    sessionmaker, pack_id, items, users, runs = await _setup_run(engine, users=1)
    async with sessionmaker() as session, session.begin():
        assert await repo.record_attempt(
            session,
            repo.NewAttempt(runs[0], items[0], users[0], -100, pack_id, None, True, 1000, 5, NOW),
            counts=False,
        )
        assert (await session.execute(select(func.count()).select_from(ScoreTotal))).scalar() == 0


# --------------------------------------------------------------------------- leaderboards


async def _answer(sessionmaker, run, item, user, pack_id, points, ms, when, chat=-100):
    async with sessionmaker() as session, session.begin():
        await repo.record_attempt(
            session,
            repo.NewAttempt(run, item, user, chat, pack_id, None, points > 0, points, ms, when),
        )


async def test_leaderboard_ties_and_own_rank(engine: AsyncEngine) -> None:
    sessionmaker, pack_id, items, users, runs = await _setup_run(engine, users=5)
    a, b, c, d, e = users
    ra, rb, rc, rd, _ = runs
    # a: 2 points in 10 s; b: 2 points in 8 s (ahead of a: fewer seconds);
    # c: 2 points in 8 s but reached later than b (behind b); d: 3 points; e: nothing scored.
    await _answer(sessionmaker, ra, items[0], a, pack_id, 2000, 10_000, NOW)
    await _answer(sessionmaker, rb, items[0], b, pack_id, 2000, 8_000, NOW)
    await _answer(sessionmaker, rc, items[0], c, pack_id, 2000, 8_000, NOW + timedelta(1))
    await _answer(sessionmaker, rd, items[0], d, pack_id, 3000, 50_000, NOW)
    async with sessionmaker() as session:
        top = await repo.top_standings(session, "c:-100", "all")
        assert [s.user_id for s in top] == [d, b, c, a]
        assert [s.rank for s in top] == [1, 2, 3, 4]
        for standing in top:
            mine = await repo.standing_of(session, "c:-100", "all", standing.user_id)
            assert mine is not None and mine.rank == standing.rank
        assert await repo.standing_of(session, "c:-100", "all", e) is None  # no attempts
        assert [s.user_id for s in await repo.top_standings(session, "c:-100", "all", 2)] == [d, b]
        # The same attempts count towards the pack's and the global boards.
        assert [s.user_id for s in await repo.top_standings(session, "g", "all")] == [d, b, c, a]
        assert await repo.top_standings(session, "c:-999", "all") == []


async def test_week_window(engine: AsyncEngine) -> None:
    sessionmaker, pack_id, items, users, runs = await _setup_run(engine, users=2)
    old, recent = users
    day0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    # old scored 5 points ten days before "today", and 1 point within the week.
    await _answer(sessionmaker, runs[0], items[0], old, pack_id, 5000, 1000, day0)
    await _answer(sessionmaker, runs[0], items[1], old, pack_id, 1000, 1000, day0 + timedelta(9))
    await _answer(
        sessionmaker, runs[1], items[0], recent, pack_id, 3000, 1000, day0 + timedelta(10)
    )
    today = date(2026, 11, 11)
    async with sessionmaker() as session, session.begin():
        rolled = await repo.roll_week(session, today)
        assert rolled == date(2026, 11, 4)
        week = await repo.top_standings(session, "g", "week")
        alltime = await repo.top_standings(session, "g", "all")
    assert [(s.user_id, s.points) for s in week] == [(recent, 3000), (old, 1000)]
    assert [(s.user_id, s.points) for s in alltime] == [(old, 6000), (recent, 3000)]
    # Rolling again the same day changes nothing; a week later both leave the window.
    async with sessionmaker() as session, session.begin():
        assert await repo.roll_week(session, today) == rolled
        assert [s.points for s in await repo.top_standings(session, "g", "week")] == [3000, 1000]
        await repo.roll_week(session, today + timedelta(days=7))
        assert await repo.top_standings(session, "g", "week") == []
        assert len(await repo.top_standings(session, "g", "all")) == 2


async def test_user_stats(engine: AsyncEngine) -> None:
    sessionmaker, pack_id, items, users, runs = await _setup_run(engine, users=1)
    for day in range(3):
        await _answer(
            sessionmaker,
            runs[0],
            items[day],
            users[0],
            pack_id,
            1000 if day else 0,
            1000,
            NOW + timedelta(days=day),
        )
    async with sessionmaker() as session:
        stats = await repo.user_pack_stats(session, users[0])
    assert len(stats) == 1
    s = stats[0]
    assert (s.answered, s.correct, s.best_run) == (3, 2, None)
    assert s.accuracy == pytest.approx(2 / 3)
