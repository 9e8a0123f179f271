"""One async engine per process, from ``DATABASE_URL``; errors become one readable line.

SQLite runs in the event loop's own thread. Through aiosqlite, every call (open a cursor,
execute, fetch, close) is handed to a worker thread and its result handed back, and SQLAlchemy
makes three or four such calls per statement: on a small virtual machine each handoff costs
about as much as waking an idle CPU (~0.1 ms), while the statement itself takes microseconds.
``quizbot bench`` measured the answer path twice as fast with the calls made in place. The
price: a statement blocks the loop while it runs (the bot's statements are index lookups and
small writes; reports over a large history take longer, which is one reason to move to
PostgreSQL). Waiting for another connection's write lock never blocks the loop: SQLITE_BUSY is
retried after an ``asyncio.sleep``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
"""How long a statement waits for another connection's write lock before it fails."""

T = TypeVar("T")


class StoreError(Exception):
    """The database cannot be used; the message is one line that names the problem."""


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(
            f"DATABASE_URL {url!r} is not a database URL "
            "(try sqlite+aiosqlite:///path/to/quizbot.db or postgresql+asyncpg://user@host/db)"
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StoreError(
            f"DATABASE_URL uses {parsed.get_backend_name()!r}; quizbot supports sqlite and "
            "postgresql"
        )
    driver = parsed.get_driver_name()
    if parsed.get_backend_name() == "sqlite" and driver != "aiosqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    if parsed.get_backend_name() == "postgresql" and driver != "asyncpg":
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the process's engine. SQLite gets foreign keys, WAL, calls made in the event
    loop's thread and ``BEGIN IMMEDIATE`` transactions (so concurrent writers wait instead of
    failing)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            folder = Path(database).expanduser().resolve().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder {folder} for the SQLite database: {exc.strerror}"
                ) from None
        (database_arg,), options = SQLiteDialect_aiosqlite().create_connect_args(parsed)
        kwargs.setdefault("async_creator", partial(connect_inline, database_arg, dict(options)))
    else:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        kwargs.setdefault("pool_pre_ping", True)
    try:
        engine = _create_async_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        hint = " (pip install 'quizbot[postgres]')" if "postgres" in str(parsed) else ""
        raise StoreError(f"the database driver is not installed: {exc}{hint}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        in_file = bool(database) and database != ":memory:" and not database.startswith("file:")
        checkpointer = WalCheckpointer(database) if in_file else None
        _configure_sqlite(engine, checkpointer)
        if in_file:
            _OWN_CONNECTIONS[engine.sync_engine] = partial(
                _open_configured, database_arg, dict(options), checkpointer
            )
    return engine


_OWN_CONNECTIONS: weakref.WeakKeyDictionary[Any, Callable[[], sqlite3.Connection]] = (
    weakref.WeakKeyDictionary()
)


def sqlite_connector(engine: AsyncEngine) -> Callable[[], sqlite3.Connection] | None:
    """For an engine on a SQLite file: a function that opens another connection to it, set
    up as the pool's are (in place, autocommit, foreign keys, WAL). None otherwise (an
    in-memory database exists only in the pool's own connection)."""
    return _OWN_CONNECTIONS.get(engine.sync_engine)


def _setup_sqlite(connection: Any, checkpointer: WalCheckpointer | None) -> None:
    """Every connection's settings; ``connection`` is sqlite3's or SQLAlchemy's adapter."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    if checkpointer is not None:
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_BACKSTOP_PAGES}")
        checkpointer.start()
    cursor.close()


def _open_configured(
    database: str, options: dict[str, Any], checkpointer: WalCheckpointer | None
) -> sqlite3.Connection:
    connection = _open_sqlite(database, options)
    _setup_sqlite(connection, checkpointer)
    return connection


def _configure_sqlite(engine: AsyncEngine, checkpointer: WalCheckpointer | None) -> None:
    if checkpointer is not None:
        event.listen(engine.sync_engine, "engine_disposed", lambda _engine: checkpointer.stop())

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        _setup_sqlite(dbapi_connection, checkpointer)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another writer got in between; IMMEDIATE takes the write lock up front
        # and waits for it (see wait_unlocked) instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# --------------------------------------------------------------------------- checkpoints

WAL_BACKSTOP_PAGES = 20_000
"""SQLite's own checkpoint, made by whichever commit finds this many pages in the WAL (80 MB);
only reached if the checkpoint thread falls behind or is not running."""


class WalCheckpointer:
    """Copies the write-ahead log into the database file from a thread of its own.

    SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL pages, and it
    syncs the file: ``quizbot bench`` measured 1 commit in 100 taking 15 ms, two thirds of all
    commit time, and as SQLite runs in the event loop's thread the whole bot stalled with it.
    Here a daemon thread with its own connection makes a PASSIVE checkpoint (it never waits
    for, nor blocks, readers and writers) every ``interval`` seconds, and the sqlite3 module
    releases the GIL while it works. It starts with the engine's first connection and stops
    when the engine is disposed.
    """

    def __init__(self, database: str, interval: float = 0.5) -> None:
        self.database = database
        self.interval = interval
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stopped.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="sqlite-checkpoint", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)

    def _run(self) -> None:
        try:
            connection = sqlite3.connect(self.database, timeout=1)
        except sqlite3.Error as exc:
            log.warning("WAL checkpoints stay in the commits: %s", exc)
            return
        try:
            while not self._stopped.wait(self.interval):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # e.g. the file went away; try again later
                    log.debug("WAL checkpoint failed: %s", exc)
        finally:
            connection.close()


# --------------------------------------------------------------------------- SQLite in place


async def wait_unlocked(call: Callable[..., T], *args: Any) -> T:
    """Make a SQLite call; while another connection holds the lock it needs (SQLITE_BUSY:
    nothing was done), sleep without blocking the event loop and try again, for up to
    SQLITE_BUSY_TIMEOUT_MS."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.001
    while True:
        try:
            return call(*args)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or loop.time() >= deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)


class InlineCursor:
    """An aiosqlite-style cursor whose calls run in the caller's thread."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        await wait_unlocked(self._cursor.execute, sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Any) -> InlineCursor:
        # Only inside a transaction, which BEGIN IMMEDIATE has already locked: never busy.
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany() if size is None else self._cursor.fetchmany(size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class InlineConnection:
    """The part of ``aiosqlite.Connection`` that SQLAlchemy's aiosqlite dialect uses, over a
    ``sqlite3`` connection used in place (see the module docstring for why)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    @property
    def raw(self) -> sqlite3.Connection:
        """The ``sqlite3`` connection (:mod:`bot.store.direct` runs statements on it)."""
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level

    async def cursor(self) -> InlineCursor:
        return InlineCursor(self._connection.cursor())

    async def commit(self) -> None:
        await wait_unlocked(self._connection.commit)

    async def rollback(self) -> None:
        self._connection.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._connection.create_function(*args, **kwargs)

    async def close(self) -> None:
        self._connection.close()

    def stop(self) -> None:
        self._connection.close()


async def connect_inline(database: str, options: dict[str, Any]) -> InlineConnection:
    """Open a SQLite connection (``options`` from the URL, as the dialect computes them).
    Autocommit mode lets SQLAlchemy's "begin" event emit BEGIN itself; lock waits are
    :func:`wait_unlocked`'s, not SQLite's (which would block the event loop)."""
    return InlineConnection(_open_sqlite(database, options))


def _open_sqlite(database: str, options: dict[str, Any]) -> sqlite3.Connection:
    options = {**options, "isolation_level": None, "check_same_thread": False, "timeout": 0}
    connection: sqlite3.Connection = sqlite3.connect(database, **options)
    return connection


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def describe_error(exc: BaseException, url: str | None = None) -> str:
    """Turn a database failure into one line that names the problem."""
    where = ""
    if url:
        try:
            where = f" ({make_url(url).render_as_string(hide_password=True)})"
        except ArgumentError:
            where = ""
    original = getattr(exc, "orig", None) or exc
    text = (
        str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    )
    lowered = text.lower()
    if isinstance(exc, StoreError):
        return str(exc)
    if "readonly" in lowered or "read-only" in lowered:
        return f"the database is read-only{where}: {text}"
    if "unable to open database file" in lowered:
        return f"cannot open the SQLite database file{where}: check the path and permissions"
    if (
        isinstance(original, ConnectionRefusedError)
        or "connect call failed" in lowered
        or ("connection refused" in lowered)
    ):
        return f"cannot reach the database server{where}: connection refused"
    if isinstance(original, OSError | TimeoutError):
        return f"cannot reach the database server{where}: {text}"
    if "does not exist" in lowered or "password authentication" in lowered:
        return f"the database server refused the connection{where}: {text}"
    if isinstance(exc, OperationalError | DBAPIError | sqlite3.Error):
        return f"database error{where}: {text}"
    return f"database error{where}: {type(original).__name__}: {text}"


__all__ = [
    "StoreError",
    "create_engine",
    "describe_error",
    "is_sqlite",
    "make_sessionmaker",
    "parse_url",
]
