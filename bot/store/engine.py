"""One async engine per process, from ``DATABASE_URL``; errors become one readable line."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 10_000


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
    """Create the process's engine. SQLite gets foreign keys, WAL, a busy timeout and
    ``BEGIN IMMEDIATE`` transactions (so concurrent writers wait instead of failing)."""
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
        kwargs.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
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
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite's own handling is off).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads and then writes fails at once with "database is
        # locked" when another writer got in between; IMMEDIATE takes the write lock up front
        # and waits for it (busy_timeout) instead.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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
