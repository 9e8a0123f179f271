"""The store: SQLAlchemy models, engine set-up, migrations, repositories and pack import."""

from bot.store.engine import (
    DATABASE_ERRORS,
    StoreError,
    create_engine,
    describe_error,
    is_disconnect,
    make_sessionmaker,
    make_statement_sessionmaker,
    unit_of_work,
)

__all__ = [
    "DATABASE_ERRORS",
    "StoreError",
    "create_engine",
    "describe_error",
    "is_disconnect",
    "make_sessionmaker",
    "make_statement_sessionmaker",
    "unit_of_work",
]
