"""Database faults (issue 15), run by CI through ``pytest -m faults``: a connection that dies
in the middle of a transaction (the unit of work runs once more), every backend of the
database terminated while 50 private runs and a group game answer at once, and an SQLite
file that turns read-only or full in the middle of a run; and a connection killed under a
class's /assign, Start link, submission and reminder pass (each run once more)."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sqlite3
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

from bot.store import create_engine, make_sessionmaker, migrate, unit_of_work
from bot.store.classes import timer_key
from bot.store.engine import is_sqlite
from bot.store.models import (
    Assignment,
    Attempt,
    Chat,
    ClassMember,
    QuizRun,
    ReminderSent,
    Submission,
    Timer,
)
from bot.testing.offline import ApiCall
from botkit import (
    Clock,
    Harness,
    attempts,
    buttons_to,
    empty_pg_database,
    finish_question,
    game_row,
    start_harness,
    user,
    write_mini_pack,
)

pytestmark = pytest.mark.faults

OUTAGE = "The quiz store is unavailable right now, so nothing was saved"
STUDENTS = 50
GROUP = -1002
HOST = user(9001, "Hana")
GAMERS = [user(9002 + n, f"Gamer {n}") for n in range(3)]


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A new PostgreSQL database of this test's own (its backends are the only ones the test
    terminates: other tests share the server)."""
    yield from empty_pg_database("quizbot_dbfaults")


@pytest.fixture
async def pg_engine(pg_database: str) -> AsyncIterator[AsyncEngine]:
    """A migrated engine on :func:`pg_database`."""
    engine = create_engine(pg_database)
    await migrate.upgrade(engine)
    try:
        yield engine
    finally:
        await engine.dispose()


async def terminate_backends(engine: AsyncEngine) -> int:
    """Terminate every backend of ``engine``'s database (as a server restart would), from a
    connection to the server's ``postgres`` database; returns how many."""
    admin_url = make_url(engine.url.render_as_string(hide_password=False)).set(database="postgres")
    admin = create_async_engine(admin_url, poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            killed = await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": engine.url.database},
            )
            return len(killed.all())
    finally:
        await admin.dispose()


async def count_chats(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Chat))).scalar_one())


# --------------------------------------------------------------------------- unit of work


@pytest.mark.postgres
async def test_a_connection_that_dies_mid_transaction_is_retried_once(
    pg_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    sessionmaker = make_sessionmaker(pg_engine)
    tries: list[int] = []
    forgotten: list[int] = []

    async def work(session: AsyncSession) -> int:
        tries.append(len(tries))
        await session.execute(
            text("INSERT INTO chats (id, type, created_at) VALUES (7, 'private', now())")
        )
        if len(tries) == 1:  # the first try loses its connection after a write
            await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return await count_chats(session)

    with caplog.at_level(logging.WARNING, logger="bot.store.engine"):
        chats = await unit_of_work(sessionmaker, work, failed=lambda: forgotten.append(1))
    assert tries == [0, 1] and forgotten == [1]
    assert chats == 1  # the first try's insert rolled back with its connection
    warnings = [r for r in caplog.records if "running it again" in r.getMessage()]
    assert len(warnings) == 1

    async def always_dies(session: AsyncSession) -> None:
        tries.append(len(tries))
        await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    tries.clear()
    with pytest.raises(DBAPIError) as raised:
        await unit_of_work(sessionmaker, always_dies)
    assert raised.value.connection_invalidated and len(tries) == 2  # once more, not forever


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or a new PostgreSQL database."""
    if request.param == "postgres":
        yield from empty_pg_database("quizbot_dbfaults")
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'quizbot.db'}"


async def test_other_failures_are_not_retried(store_url: str) -> None:
    engine = create_engine(store_url)
    await migrate.upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    tries: list[int] = []

    async def duplicate(session: AsyncSession) -> None:
        tries.append(1)
        chat = insert(Chat).values(id=1, type="private", created_at=Clock().now)
        await session.execute(chat)
        await session.execute(chat)  # the same primary key: a constraint, not an outage

    async def bug(session: AsyncSession) -> None:
        tries.append(1)
        raise ValueError("a bug, not an outage")

    try:
        for work, error in ((duplicate, IntegrityError), (bug, ValueError)):
            tries.clear()
            with pytest.raises(error):
                await unit_of_work(sessionmaker, work)
            assert len(tries) == 1
    finally:
        await engine.dispose()


# --------------------------------------------------------------------------- classes


@contextmanager
def killed_before(engine: AsyncEngine, prefix: str) -> Iterator[list[str]]:
    """Kill the connection once, just before the first statement that begins with ``prefix``
    (``INSERT INTO timers``) runs, so the transaction's earlier writes die with it: PostgreSQL
    terminates the backend, as a restart would; SQLite's connection is closed under the
    transaction. Yields the statements it killed under."""
    killed: list[str] = []

    def before(connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if killed or not statement.lstrip().upper().startswith(prefix.upper()):
            return
        killed.append(statement)
        if is_sqlite(engine):
            connection.connection.dbapi_connection.close()
        else:
            connection.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")

    event.listen(engine.sync_engine, "before_cursor_execute", before)
    try:
        yield killed
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", before)


async def rows_of(engine: AsyncEngine, *columns: Any) -> list[tuple[Any, ...]]:
    async with make_sessionmaker(engine)() as session:
        return [tuple(r) for r in (await session.execute(select(*columns))).all()]


TEACHER = user(900, "Teacher")  # an admin of the bot (QUIZBOT_ADMIN_IDS)
PUPIL = user(7101, "Pia")
SLOW = user(7102, "Sam")
QUIET = user(7103, "Quinn")


async def test_a_connection_killed_under_class_operations_is_retried_once(
    mini: Harness, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    bot = mini
    bot.api.administrators[GROUP] = {TEACHER["id"]}
    caplog.set_level(logging.WARNING)

    def retried_once(killed: list[str], calls: list[ApiCall]) -> None:
        assert len(killed) == 1, "the fault was not injected"
        warnings = [r for r in caplog.records if "running it again" in r.getMessage()]
        assert len(warnings) == 1, [r.getMessage() for r in caplog.records]
        assert not any(OUTAGE in str(c.params.get("text")) for c in calls)
        caplog.clear()

    # /assign: killed at its first timer, after the chat and the assignment were written.
    with killed_before(engine, "INSERT INTO timers") as killed:
        calls = await bot.text(TEACHER, "/assign mini in 3 days", chat_id=GROUP)
    retried_once(killed, calls)
    posted = [c for c in calls if "Assignment #" in str(c.params.get("text"))]
    assert len(posted) == 1
    [(assignment, token, message_id)] = await rows_of(
        engine, Assignment.id, Assignment.token, Assignment.message_id
    )
    assert token in str(posted[0].params["reply_markup"])
    assert message_id == posted[0].result["message_id"]
    keys = await rows_of(engine, Timer.key)
    assert sorted(k for (k,) in keys) == sorted(
        timer_key(assignment, what) for what in ("due", "remind-1d", "remind-2h")
    )

    # The Start link: killed as the run is created, after the student joined the class and
    # their submission row was written.
    with killed_before(engine, "INSERT INTO quiz_runs") as killed:
        calls = await bot.text(PUPIL, f"/start {token}")
    retried_once(killed, calls)
    assert len([c for c in calls if "Assignment: <b>Mini</b>" in str(c.params.get("text"))]) == 1
    questions = [d for d in buttons_to(calls, PUPIL["id"]) if d.startswith("a:")]
    assert questions and len({d.split(":")[1] for d in questions}) == 1  # one run
    [(run, status)] = await rows_of(engine, QuizRun.id, QuizRun.status)
    assert status == "active" and int(questions[0].split(":")[1]) == run
    assert len(await rows_of(engine, ClassMember.user_id)) == 2  # the teacher (seen) and Pia
    assert len(await rows_of(engine, Submission.user_id)) == 1

    # The submission: killed as the last answer hands the run in.
    await bot.press(PUPIL, questions[0])
    nexts = [d for d in buttons_to(bot.api.calls, PUPIL["id"]) if d.startswith("n:")]
    await bot.press(PUPIL, nexts[-1])
    with killed_before(engine, "UPDATE submissions") as killed:
        calls = await bot.text(PUPIL, "Bloody Joe")
    retried_once(killed, calls)
    assert sum("Handed in" in str(c.params.get("text")) for c in calls) == 1
    assert await attempts(engine) == {run: 2}
    [(finished, late)] = await rows_of(engine, Submission.finished_at, Submission.late)
    assert finished is not None and late is False

    # A reminder pass, a day before the deadline: killed as the reminders are claimed.
    await bot.text(SLOW, f"/start {token}")
    await bot.text(QUIET, "hello class", chat_id=GROUP)
    bot.clock.now = datetime(2026, 11, 22, 23, 59, tzinfo=UTC)
    bot.api.clear()
    with killed_before(engine, "INSERT INTO reminders_sent") as killed:
        await bot.run_jobs()
    retried_once(killed, bot.api.calls)
    reminded = sorted(int(c.params["chat_id"]) for c in bot.api.sent("sendMessage"))
    assert reminded == sorted([SLOW["id"], QUIET["id"]])  # each once, none lost
    assert len(await rows_of(engine, ReminderSent.user_id)) == 2


# --------------------------------------------------------------------------- PostgreSQL restart


def question_in(calls: list[ApiCall], chat_id: int) -> tuple[int, int] | None:
    """The run and item of the last private question with answer buttons sent to a chat."""
    for data in reversed(buttons_to(calls, chat_id)):
        kind, *rest = data.split(":")
        if kind == "a":
            return int(rest[0]), int(rest[1])
    return None


class Presses:
    """Button presses, remembered by callback query id to know whose press an alert answers."""

    def __init__(self, bot: Harness) -> None:
        self.bot = bot
        self.presser: dict[str, int] = {}

    async def press(
        self, who: dict[str, Any], data: str, chat_id: int | None = None
    ) -> list[ApiCall]:
        update = self.bot.updates.callback(who, data, 1000, chat_id)
        self.presser[update["callback_query"]["id"]] = who["id"]
        return await self.bot.send(update)

    def apologies(self, calls: list[ApiCall]) -> Counter[int]:
        """The outage apologies each user got (an alert on their press, or a message)."""
        told: Counter[int] = Counter()
        for call in calls:
            if OUTAGE not in str(call.params.get("text", "")):
                continue
            if call.method == "answerCallbackQuery":
                told[self.presser[str(call.params["callback_query_id"])]] += 1
            else:
                told[int(call.params["chat_id"])] += 1
        return told


@pytest.mark.postgres
async def test_postgresql_restart_during_a_game_and_50_private_runs(
    pg_engine: AsyncEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    bot = await start_harness(pg_engine, clock, content=write_mini_pack(tmp_path))
    try:
        await _restart_scenario(bot, pg_engine, caplog)
    finally:
        await bot.app.shutdown()


async def _restart_scenario(
    bot: Harness, engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    presses = Presses(bot)
    students = [user(8000 + n, f"Student {n}") for n in range(STUDENTS)]
    await asyncio.gather(*(bot.text(s, "/quiz mini") for s in students))
    runs: dict[int, tuple[int, int]] = {}
    for student in students:
        found = question_in(bot.api.calls, student["id"])
        assert found is not None, "every student got the first question with buttons"
        runs[student["id"]] = found

    await bot.text(HOST, "/quiz mini", chat_id=GROUP)
    game = int(buttons_to(bot.api.calls, GROUP)[-1].split(":")[1])
    for gamer in GAMERS:
        await presses.press(gamer, f"j:{game}", GROUP)
    await presses.press(HOST, f"go:{game}", GROUP)
    poll = (await game_row(engine, game)).poll_id
    assert poll is not None

    async def answer(student: dict[str, Any]) -> list[ApiCall]:
        run, item = runs[student["id"]]
        return await presses.press(student, f"a:{run}:{item}:0")

    async def type_answer(student: dict[str, Any]) -> list[ApiCall]:
        return await bot.text(student, "Bloody Joe")

    votes = {g["id"]: bot.updates.poll_answer(g, poll, [0]) for g in GAMERS}

    # A restart: every backend terminated once while 53 updates are in flight.
    with caplog.at_level(logging.INFO):
        before, first_lines = len(bot.api.calls), len(caplog.records)
        killed = await asyncio.gather(
            restart(engine, times=1),
            *(answer(s) for s in students),
            *(bot.send(v) for v in votes.values()),
        )
    told = presses.apologies(bot.api.calls[before:])
    records = caplog.records[first_lines:]
    failed = failed_updates(records)
    lost_votes = [g for g, v in votes.items() if v["update_id"] in failed]
    retried = sum("running it again" in r.getMessage() for r in records)
    assert killed[0] > 0, "the restart terminated no backend"
    assert all(n == 1 for n in told.values()), f"an update apologised more than once: {told}"
    assert len(failed) == sum(told.values()) + len(lost_votes), "one log line per failure"
    # Whoever was told to try again does so; then every answer is there exactly once.
    await asyncio.gather(*(answer(s) for s in students if s["id"] in told))
    recorded = await attempts(engine)
    assert [recorded.get(run) for run, _item in runs.values()] == [1] * STUDENTS
    assert recorded.get(game) == len(GAMERS) - len(lost_votes)
    figures = [
        f"restart: {killed[0]} backends terminated, {retried} units of work run again, "
        f"{len(failed)} updates failed ({len(lost_votes)} poll votes)"
    ]

    # A longer outage (five rounds of terminations, 20 ms apart) during the typed answers
    # to question 2: some updates fail twice, and their users are told to try again.
    moves = [[d for d in buttons_to(bot.api.calls, s["id"]) if d[:2] == "n:"] for s in students]
    assert all(moves), "every verdict offers the next question"
    await asyncio.gather(*(presses.press(s, m[-1]) for s, m in zip(students, moves, strict=True)))
    with caplog.at_level(logging.INFO):
        before, first_lines = len(bot.api.calls), len(caplog.records)
        killed = await asyncio.gather(restart(engine, times=5), *(type_answer(s) for s in students))
    told = presses.apologies(bot.api.calls[before:])
    records = caplog.records[first_lines:]
    failed = failed_updates(records)
    retried = sum("running it again" in r.getMessage() for r in records)
    assert all(n == 1 for n in told.values()), f"an update apologised more than once: {told}"
    assert len(failed) == sum(told.values()), "one log line per failed update"
    await asyncio.gather(*(type_answer(s) for s in students if s["id"] in told))
    recorded = await attempts(engine)
    assert [recorded.get(run) for run, _item in runs.values()] == [2] * STUDENTS
    figures.append(
        f"outage: {killed[0]} backends terminated, {retried} units of work run again, "
        f"{len(failed)} updates failed and were answered 'try again' once"
    )

    # The game goes on: question 1 closes, question 2 (typed) is asked and answered.
    await finish_question(bot, engine, game)
    row = await game_row(engine, game)
    assert row.position == 1 and row.phase == "asking" and row.message_id is not None
    for gamer in GAMERS:
        await bot.text(gamer, "Bloody Joe", chat_id=GROUP, reply_to=row.message_id)
    recorded = await attempts(engine)
    assert recorded.get(game) == 2 * len(GAMERS) - len(lost_votes)
    print("; ".join(figures))


async def restart(engine: AsyncEngine, times: int) -> int:
    """Terminate every backend of the database ``times`` times, 20 ms apart, starting 50 ms
    from now (the updates are in flight by then); how many backends were terminated."""
    killed = 0
    await asyncio.sleep(0.05)
    for round in range(times):
        if round:
            await asyncio.sleep(0.02)
        killed += await terminate_backends(engine)
    return killed


def failed_updates(records: list[logging.LogRecord]) -> list[int]:
    """The updates the error handler logged as failed: one line each, no traceback."""
    failed = [r for r in records if r.name == "quizbot.telegram" and r.levelno == logging.ERROR]
    assert all(r.exc_info is None for r in failed), "an outage is one line, no traceback"
    ids = [int(r.args[0]) for r in failed if isinstance(r.args, tuple) and r.args]
    assert len(ids) == len(failed) == len(set(ids)), "one line per failed update"
    return ids


# --------------------------------------------------------------------------- SQLite faults


@contextmanager
def small_disk(folder: Path) -> Iterator[Path]:
    """A 4 MB tmpfs mounted on ``folder`` (root only: skips where mounting is not allowed)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path) -> Path:
    """Fill the file system of ``folder`` up to its last byte; returns the filler file."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        block = 65536
        while block:  # smaller and smaller blocks until not one byte fits
            try:
                os.write(descriptor, b"\0" * block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                block //= 2
    finally:
        os.close(descriptor)
    return filler


async def sqlite_state(engine: AsyncEngine) -> tuple[int, int, str]:
    """Attempts, the run's position and its status: what a half-written answer would change."""
    async with make_sessionmaker(engine)() as session:
        attempts = (await session.execute(select(func.count()).select_from(Attempt))).scalar()
        run = (await session.execute(select(QuizRun))).scalar_one()
        return int(attempts or 0), run.position, run.status


def wal_checkpoint(database: Path) -> None:
    """Copy the WAL into the database and truncate it (from a connection of the test's
    own, outside any transaction): the next write must grow the WAL on the full disk."""
    connection = sqlite3.connect(database)
    try:
        busy, _log, _done = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
    finally:
        connection.close()


async def query_only(engine: AsyncEngine) -> None:
    """Make the (one) pooled SQLite connection refuse writes, as a read-only file would (the
    tests run as root, who may write to any file); closing the pool lifts it."""
    async with engine.connect() as connection:
        await connection.exec_driver_sql("PRAGMA query_only=ON")


@pytest.mark.parametrize("fault", ["read-only", "disk full"])
async def test_sqlite_read_only_or_full_mid_run(
    fault: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with ExitStack() as stack:
        folder = (
            stack.enter_context(small_disk(tmp_path / "disk")) if fault == "disk full" else tmp_path
        )
        engine = create_engine(f"sqlite+aiosqlite:///{folder / 'quizbot.db'}")
        content = tmp_path / "content"
        content.mkdir()
        await migrate.upgrade(engine)
        bot = await start_harness(engine, Clock(), content=write_mini_pack(content))
        try:
            await _sqlite_fault(bot, engine, fault, folder, caplog)
        finally:
            await bot.app.shutdown()
            await engine.dispose()


async def _sqlite_fault(
    bot: Harness, engine: AsyncEngine, fault: str, folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    student = user(7001, "Ann")
    presses = Presses(bot)
    await bot.text(student, "/quiz mini")
    found = question_in(bot.api.calls, student["id"])
    assert found is not None
    await presses.press(student, f"a:{found[0]}:{found[1]}:0")
    moves = [d for d in buttons_to(bot.api.calls, student["id"]) if d[:2] == "n:"]
    await presses.press(student, moves[-1])
    before = await sqlite_state(engine)
    assert before == (1, 1, "active")

    filler = None
    if fault == "disk full":
        wal_checkpoint(folder / "quizbot.db")
        filler = fill(folder)
    else:
        await query_only(engine)
    with caplog.at_level(logging.INFO):
        calls = await bot.text(student, "Bloody Joe")
    said = [str(c.params.get("text")) for c in calls if c.method == "sendMessage"]
    assert len(said) == 1 and OUTAGE in said[0], said  # one clear line to the user
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    expected = "disk is full" if fault == "disk full" else "the database is read-only"
    assert len(lines) == 1 and expected in lines[0], lines  # and one in the log
    caplog.clear()

    if filler is not None:
        filler.unlink()
    else:
        await engine.dispose()  # a new connection: the file is writable again
    assert await sqlite_state(engine) == before  # nothing half-written
    calls = await bot.text(student, "Bloody Joe")  # the fault is gone: the run goes on
    assert not any(OUTAGE in str(c.params.get("text")) for c in calls)
    assert await sqlite_state(engine) == (2, 1, "finished")
