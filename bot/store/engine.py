"""One async engine per process, from ``DATABASE_URL``; errors become one readable line.

There is one way to the database: SQLAlchemy's public async API, on aiosqlite (SQLite) or
asyncpg (PostgreSQL). aiosqlite runs every SQLite call in a worker thread of its own, so no
statement, commit or checkpoint ever runs on the event loop's thread: a slow report over a
big store delays its own update, never another chat's.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

log = logging.getLogger(__name__)

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_S = 10.0
"""How long a statement waits for another connection's write lock before it fails (the wait
happens in aiosqlite's thread, not on the event loop)."""


DATABASE_ERRORS: tuple[type[BaseException], ...] = (SQLAlchemyError, OSError)
"""What a database that went away raises, for adapters that must not import SQLAlchemy."""


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


POSTGRES_POOL = 32
"""Connections per process on PostgreSQL, and the updates the bot handles at once there
(bot/telegram/app.py): an update in flight never waits for a connection. With 256 updates at
once on 30 connections, the median wait for a connection was 540-750 ms."""

POSTGRES_OVERFLOW = 8
"""Extra connections for what runs beside the updates: timers, /healthz, metrics."""


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Create the process's engine. SQLite gets foreign keys, WAL and ``BEGIN IMMEDIATE``
    transactions (so concurrent writers wait for the lock instead of failing)."""
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
        kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_S)
        if database and database != ":memory:":
            # One connection: SQLite has one writer at a time, and every transaction here
            # takes the write lock (BEGIN IMMEDIATE). Waiting for the pool's connection is an
            # asyncio wait in turn; waiting for the lock on a second connection is SQLite's
            # busy handler, which sleeps 25-100 ms at a time (answers/s fell threefold).
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
    else:
        kwargs.setdefault("pool_size", POSTGRES_POOL)
        kwargs.setdefault("max_overflow", POSTGRES_OVERFLOW)
    try:
        engine = _create_async_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        hint = " (pip install 'quizbot[postgres]')" if "postgres" in str(parsed) else ""
        raise StoreError(f"the database driver is not installed: {exc}{hint}") from None
    if parsed.get_backend_name() == "sqlite":
        _configure_sqlite(engine)
    else:
        _configure_postgres(engine)
    return engine


def _configure_postgres(engine: AsyncEngine) -> None:
    """Replace a pooled connection the server has closed, without a round trip.

    ``pool_pre_ping`` pings the server at every checkout: a round trip per transaction, 6 of
    the 14.6 an answer took. A connection the server closed while it sat in the pool (a
    restart, ``pg_terminate_backend``, an idle timeout) is already known closed to asyncpg,
    whose protocol saw the end of the stream; raising ``DisconnectionError`` in the checkout
    event makes the pool drop it and try another (SQLAlchemy's documented custom pessimistic
    ping). A connection that dies in the middle of a transaction fails that transaction, and
    SQLAlchemy invalidates the pool's older connections with it."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this pooled connection")


def _configure_sqlite(engine: AsyncEngine) -> None:
    """SQLAlchemy's documented recipe for SQLite transactions on aiosqlite
    ("Serializable isolation / Savepoints / Transactional DDL (asyncio version)")."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (the driver would defer it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        # WAL with NORMAL sync is durable against a crash of the process; the automatic
        # checkpoint runs inside a commit, and so in aiosqlite's thread, off the loop.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another writer got in between; IMMEDIATE takes the write lock up front
        # and waits for it (the busy timeout) instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def is_disconnect(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection died under a statement or a commit (a server
    restart, ``pg_terminate_backend``, a network cut): SQLAlchemy then marks the error
    ``connection_invalidated`` and drops the connection from the pool. The server rolled the
    transaction back, so running the unit of work again on a new connection is safe."""
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


async def unit_of_work(
    sessionmaker: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[T]],
    *,
    commit: bool = True,
    failed: Callable[[], None] | None = None,
) -> T:
    """Run ``work`` in one session (and, with ``commit``, one transaction, committed when it
    returns): the unit of work of one update. When the connection dies under it, the work
    runs once more on a new connection, with one warning in the log; any other failure, or a
    second one, propagates (the error handler tells the user to try again). ``failed`` is
    called after every try that raised, to forget what the work cached from a rolled-back
    transaction.

    A connection that dies after the server received COMMIT but before it answered leaves
    the outcome unknown; the writes run again are conditional (a run's position, the attempt
    unique per run, item and user), so the second try finds the work done and changes
    nothing."""
    try:
        return await _run_unit(sessionmaker, work, commit, failed)
    except DBAPIError as exc:
        if not is_disconnect(exc):
            raise
        log.warning(
            "the database connection died in a transaction (%s); running it again",
            describe_error(exc),
        )
    return await _run_unit(sessionmaker, work, commit, failed)


async def _run_unit(
    sessionmaker: async_sessionmaker[AsyncSession],
    work: Callable[[AsyncSession], Awaitable[T]],
    commit: bool,
    failed: Callable[[], None] | None,
) -> T:
    try:
        async with sessionmaker() as session:
            if not commit:
                return await work(session)
            async with session.begin():
                return await work(session)
    except BaseException:
        if failed is not None:
            failed()
        raise


def make_statement_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for a unit of work that is one statement, or only statements that each stand
    alone (a read, one conditional ``UPDATE``, an idempotent upsert): on PostgreSQL each runs
    as its own transaction (``AUTOCOMMIT``: no ``BEGIN`` and ``COMMIT`` round trips around it;
    a write is still committed with the server's ``synchronous_commit``), which takes two
    round trips of three off such a unit. SQLite keeps ordinary transactions (the
    ``BEGIN IMMEDIATE`` recipe needs them, and its calls cost a thread hop, not a network
    round trip)."""
    if is_sqlite(engine):
        return make_sessionmaker(engine)
    return make_sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"))


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
    if "disk is full" in lowered or "no space left" in lowered:
        return f"the database's disk is full{where}: {text}"
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
    "is_disconnect",
    "is_sqlite",
    "make_sessionmaker",
    "make_statement_sessionmaker",
    "parse_url",
    "unit_of_work",
]
