"""Alembic environment: runs on a connection handed over by bot.store.migrate (inside the
bot's own event loop), or, from the alembic command line, on a new async engine."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context

from bot.store.migrate import include_object_for
from bot.store.models import Base

config = context.config
target_metadata = Base.metadata


def do_run_migrations(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
        include_object=include_object_for(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    from bot.settings import Settings
    from bot.store.engine import create_engine

    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_offline() -> None:
    from bot.settings import Settings

    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
elif (shared := config.attributes.get("connection")) is not None:
    do_run_migrations(shared)
else:
    asyncio.run(run_async_migrations())
