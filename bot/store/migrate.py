"""Run the Alembic migrations in ``migrations/`` on an async engine, from any directory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import bundled

MIGRATIONS_DIR = bundled("migrations")
MIGRATION_LOCK_KEY = 0x5175_697A_626F_7401
"""The PostgreSQL advisory lock ``upgrade`` holds, so that workers starting together migrate
one after another (the later ones then find the schema at head) instead of racing."""


def alembic_config(url: str | None = None) -> Config:
    """An Alembic config that finds the migrations wherever the working directory is."""
    config = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


EXPRESSION_INDEXES = frozenset({"ix_score_totals_rank"})
"""Indexes with an expression (``points DESC``) that SQLite cannot reflect, so autogenerate
cannot compare them there; PostgreSQL compares them like any other index."""


def include_object_for(dialect: str) -> Callable[..., bool]:
    """Autogenerate's ``include_object`` hook for a dialect."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        return not (dialect == "sqlite" and type_ == "index" and name in EXPRESSION_INDEXES)

    return include


def _run(connection: Any, action: str, revision: str) -> None:
    config = alembic_config()
    # env.py uses this connection (and so this event loop) instead of opening its own.
    config.attributes["connection"] = connection
    if action == "upgrade":
        command.upgrade(config, revision)
    else:
        command.downgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the schema inside the running event loop; on PostgreSQL under an advisory lock
    held until the migration's transaction ends, so any number of processes may call it at
    once."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        await connection.run_sync(_run, "upgrade", revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_run, "downgrade", revision)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Any) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def stored_revision(engine: AsyncEngine) -> str | None:
    """The revision in Alembic's version table, None before the first migration (read
    directly: :func:`current_revision` logs two lines each time, too many for a health
    check polled every few seconds)."""

    def read(connection: Connection) -> str | None:
        if not inspect(connection).has_table("alembic_version"):
            return None
        value = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if value is None else str(value)

    async with engine.connect() as connection:
        return await connection.run_sync(read)
