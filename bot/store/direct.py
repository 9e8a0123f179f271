"""Transactions for the answer path: the same SQLAlchemy statements, run by the driver itself.

``quizbot bench`` found SQLAlchemy's execution layer costing about 100 µs of Python per
statement on a 2-core virtual machine (compile-cache lookup, execution context, result
metadata, and a greenlet switch for every driver call), against 2 µs for SQLite itself and a
40 µs write transaction. An answer makes two short transactions of three or four statements,
so that layer was most of the answer's cost.

A :class:`Tx` runs a statement on one of two executors:

* :class:`DirectTx` compiles each statement once per dialect (SQL text, parameter order, and
  the column types' own bind and result processors, so values are stored exactly as the
  ORM stores them) and runs it on a driver connection: ``sqlite3`` in the event loop's
  thread (see :mod:`bot.store.engine`) or ``asyncpg`` from the pool. It has no ORM session:
  code that needs one raises :class:`NeedSession` before writing anything, and
  :class:`Transactions` runs the whole work again on a session.
* :class:`SessionTx` runs the same statements on an ``AsyncSession`` (``session.execute``).

Driver errors become SQLAlchemy's (``OperationalError`` and so on), so callers and the error
handler treat both executors alike; a connection that broke is invalidated, not reused.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections import namedtuple
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql import Executable
from sqlalchemy.util import greenlet_spawn

from bot.store.engine import sqlite_connector, wait_unlocked

Params = Mapping[str, Any]


class NeedSession(Exception):
    """Raised inside a :class:`DirectTx` by code that needs the ORM: run it on a session."""


class Tx(Protocol):
    """What the answer path needs of a transaction."""

    session: AsyncSession | None
    """The ORM session, when the transaction has one (:class:`SessionTx`)."""

    async def first(self, statement: Executable, params: Params) -> Any:
        """The first row (attribute and tuple access) or None."""

    async def all(self, statement: Executable, params: Params) -> list[Any]:
        """Every row."""

    async def execute(self, statement: Executable, params: Params) -> None: ...

    async def executemany(self, statement: Executable, rows: Sequence[Params]) -> None: ...


class SessionTx:
    """A :class:`Tx` over an ORM session (the caller owns its transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session: AsyncSession | None = session
        self._session = session

    async def first(self, statement: Executable, params: Params) -> Any:
        return (await self._session.execute(statement, params)).first()

    async def all(self, statement: Executable, params: Params) -> list[Any]:
        return list((await self._session.execute(statement, params)).all())

    async def execute(self, statement: Executable, params: Params) -> None:
        await self._session.execute(statement, params)

    async def executemany(self, statement: Executable, rows: Sequence[Params]) -> None:
        await self._session.execute(statement, list(rows))


def tx_of(executor: AsyncSession | Tx) -> Tx:
    """A :class:`Tx` for either a session or a transaction."""
    return SessionTx(executor) if isinstance(executor, AsyncSession) else executor


# --------------------------------------------------------------------------- compiled once


@dataclass(frozen=True)
class Compiled:
    """One statement for one dialect: driver SQL, and how to turn parameters and rows."""

    sql: str
    names: tuple[str, ...]
    """Parameter names in the order the driver takes them."""
    defaults: dict[str, Any]
    """Values bound in the statement itself (``.values(phase="answered")``), processed."""
    binds: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[Callable[[Any], Any] | None, ...]
    row: Any
    """A namedtuple class for result rows, or None for statements that return nothing."""

    def parameters(self, params: Params) -> list[Any]:
        values = []
        for name, process in zip(self.names, self.binds, strict=True):
            if name in params:
                value = params[name]
                values.append(value if process is None or value is None else process(value))
            else:
                values.append(self.defaults[name])
        return values

    def make_row(self, raw: Sequence[Any]) -> Any:
        if self.row is None:
            raise TypeError(f"declare the columns this statement returns: {self.sql}")
        return self.row._make(
            value if process is None or value is None else process(value)
            for value, process in zip(raw, self.results, strict=True)
        )


def compile_for(statement: Executable, dialect: Dialect) -> Compiled:
    """Compile ``statement`` with the dialect's positional parameter style."""
    compiled: Any = cast(Any, statement).compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    binds = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    defaults = {}
    for name, process in zip(names, binds, strict=True):
        bind = compiled.binds[name]
        if not bind.required and bind.callable is None:
            value = bind.value
            defaults[name] = value if process is None or value is None else process(value)
    columns = list(getattr(statement, "selected_columns", None) or ())
    if not columns:
        columns = list(getattr(statement, "exported_columns", None) or ())
    results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    fields = [getattr(c, "key", None) or f"c{n}" for n, c in enumerate(columns)]
    row = namedtuple("Row", fields, rename=True) if columns else None
    return Compiled(compiled.string, names, defaults, binds, results, row)


_COMPILED: dict[tuple[Executable, str], Compiled] = {}


def compiled(statement: Executable, dialect: Dialect) -> Compiled:
    """:func:`compile_for`, once per statement and dialect. The answer path's statements are
    module constants, so this holds a few dozen entries."""
    key = (statement, dialect.name)
    found = _COMPILED.get(key)
    if found is None:
        found = _COMPILED[key] = compile_for(statement, dialect)
    return found


# --------------------------------------------------------------------------- the executors


class DirectTx:
    """A :class:`Tx` on a driver connection (see the module docstring)."""

    session: AsyncSession | None = None

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.unusable = False
        """Set when a rollback failed: the connection is in an unknown state."""

    async def rollback(self) -> None:
        raise NotImplementedError

    async def abandon(self) -> None:
        """Roll back after a failure; the failure is what gets reported, not this."""
        try:
            await self.rollback()
        except Exception:
            self.unusable = True

    def _compiled(self, statement: Executable) -> Compiled:
        return compiled(statement, self.dialect)


class SqliteTx(DirectTx):
    def __init__(self, dialect: Dialect, connection: sqlite3.Connection) -> None:
        super().__init__(dialect)
        self.connection = connection

    async def begin(self) -> None:
        await wait_unlocked(self.connection.execute, "BEGIN IMMEDIATE")

    async def first(self, statement: Executable, params: Params) -> Any:
        c = self._compiled(statement)
        # fetchall: a RETURNING statement is only done once every row has been read.
        rows = self.connection.execute(c.sql, c.parameters(params)).fetchall()
        return c.make_row(rows[0]) if rows else None

    async def all(self, statement: Executable, params: Params) -> list[Any]:
        c = self._compiled(statement)
        return [c.make_row(r) for r in self.connection.execute(c.sql, c.parameters(params))]

    async def execute(self, statement: Executable, params: Params) -> None:
        c = self._compiled(statement)
        self.connection.execute(c.sql, c.parameters(params))

    async def executemany(self, statement: Executable, rows: Sequence[Params]) -> None:
        c = self._compiled(statement)
        self.connection.executemany(c.sql, [c.parameters(row) for row in rows])

    async def commit(self) -> None:
        await wait_unlocked(self.connection.execute, "COMMIT")

    async def rollback(self) -> None:
        if self.connection.in_transaction:
            self.connection.execute("ROLLBACK")


class PostgresTx(DirectTx):
    def __init__(self, dialect: Dialect, connection: Any) -> None:
        super().__init__(dialect)
        self.connection = connection
        self._transaction: Any = None
        self._open = False

    async def begin(self) -> None:
        self._transaction = self.connection.transaction()
        await self._transaction.start()
        self._open = True

    async def first(self, statement: Executable, params: Params) -> Any:
        c = self._compiled(statement)
        row = await self.connection.fetchrow(c.sql, *c.parameters(params))
        return None if row is None else c.make_row(tuple(row))

    async def all(self, statement: Executable, params: Params) -> list[Any]:
        c = self._compiled(statement)
        rows = await self.connection.fetch(c.sql, *c.parameters(params))
        return [c.make_row(tuple(r)) for r in rows]

    async def execute(self, statement: Executable, params: Params) -> None:
        c = self._compiled(statement)
        await self.connection.execute(c.sql, *c.parameters(params))

    async def executemany(self, statement: Executable, rows: Sequence[Params]) -> None:
        c = self._compiled(statement)
        await self.connection.executemany(c.sql, [c.parameters(row) for row in rows])

    async def commit(self) -> None:
        self._open = False
        await self._transaction.commit()

    async def rollback(self) -> None:
        if self._open:
            self._open = False
            await self._transaction.rollback()


def _broken_connection(error: BaseException) -> bool:
    """Whether a driver error means the connection cannot be used again."""
    if isinstance(error, OSError | TimeoutError | ConnectionError):
        return True
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - only SQLite installed
        return False
    return isinstance(
        error,
        asyncpg.InterfaceError
        | asyncpg.InternalClientError
        | asyncpg.PostgresConnectionError
        | asyncpg.exceptions.OperatorInterventionError,
    )


def translate(error: Exception, invalidated: bool) -> sa_exc.DBAPIError:
    """A driver error as SQLAlchemy would have raised it."""
    if isinstance(error, sqlite3.Error):
        return cast(
            sa_exc.DBAPIError,
            sa_exc.DBAPIError.instance(
                None, None, error, sqlite3.Error, connection_invalidated=invalidated
            ),
        )
    if invalidated:
        return sa_exc.OperationalError(None, None, error, connection_invalidated=True)
    try:
        import asyncpg
    except ImportError:  # pragma: no cover - only SQLite installed
        return sa_exc.DatabaseError(None, None, error)
    if isinstance(error, asyncpg.IntegrityConstraintViolationError):
        return sa_exc.IntegrityError(None, None, error)
    if isinstance(error, asyncpg.exceptions.TransactionRollbackError):
        return sa_exc.OperationalError(None, None, error)
    return sa_exc.DatabaseError(None, None, error)


def driver_errors(dialect: Dialect) -> tuple[type[Exception], ...]:
    """The exceptions a dialect's driver raises (what :func:`translate` turns into SQLAlchemy's)."""
    if dialect.name == "sqlite":
        return (sqlite3.Error,)
    import asyncpg

    return (
        asyncpg.PostgresError,
        asyncpg.InterfaceError,
        asyncpg.InternalClientError,
        OSError,
        TimeoutError,
    )


class Direct:
    """Direct transactions on an engine's connections.

    On PostgreSQL (and an in-memory SQLite database) each transaction takes a connection from
    the pool and gives it back. On a SQLite file, which has one writer at a time anyway, these
    transactions take turns (an ``asyncio.Lock``) on a connection of their own, set up as the
    pool's are: a pool checkout and return cost two greenlet round trips, more than the
    transaction itself.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self._errors = driver_errors(engine.dialect)
        self._connect = sqlite_connector(engine)
        self._own: sqlite3.Connection | None = None
        self._turn = asyncio.Lock()
        if self._connect is not None:
            me = weakref.ref(self)

            def on_dispose(_engine: Any) -> None:
                direct = me()
                if direct is not None:
                    direct.close()

            event.listen(engine.sync_engine, "engine_disposed", on_dispose)

    def close(self) -> None:
        """Close the connection kept for SQLite (disposing the engine does too)."""
        own, self._own = self._own, None
        if own is not None:
            own.close()

    async def _checkout(self) -> Any:
        try:
            return await self.engine.raw_connection()
        except self._errors as error:
            raise translate(error, _broken_connection(error)) from error

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        if self._connect is not None:
            async with self._turn:
                tx: SqliteTx | None = None
                try:
                    if self._own is None:
                        self._own = self._connect()
                    tx = SqliteTx(self.dialect, self._own)
                    async with self._run(tx):
                        yield tx
                except sqlite3.Error as error:
                    raise translate(error, False) from error
                finally:
                    if tx is not None and tx.unusable:  # open a fresh one next time
                        self.close()
            return
        fairy = await self._checkout()
        broken: BaseException | None = None
        pooled: SqliteTx | PostgresTx | None = None
        try:
            driver = fairy.driver_connection
            pooled = (
                SqliteTx(self.dialect, driver.raw)
                if self.dialect.name == "sqlite"
                else PostgresTx(self.dialect, driver)
            )
            async with self._run(pooled) as pooled_tx:
                yield pooled_tx
        except self._errors as error:
            broken = error if _broken_connection(error) else None
            raise translate(error, broken is not None) from error
        finally:
            if broken is None and pooled is not None and pooled.unusable:
                broken = RuntimeError("the transaction could not be rolled back")
            if broken is not None:
                await greenlet_spawn(fairy.invalidate, broken)
            await greenlet_spawn(fairy.close)

    @staticmethod
    @asynccontextmanager
    async def _run(tx: SqliteTx | PostgresTx) -> AsyncIterator[SqliteTx | PostgresTx]:
        await tx.begin()
        try:
            yield tx
        except BaseException:
            await tx.abandon()
            raise
        try:
            await tx.commit()
        except BaseException:
            await tx.abandon()
            raise


T = TypeVar("T")


class Transactions:
    """Runs work in one transaction: a direct one when the engine allows, and again on an
    ORM session when the work raises :class:`NeedSession` (before it has kept anything)."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        engine = sessionmaker.kw.get("bind")
        self.direct = Direct(engine) if isinstance(engine, AsyncEngine) else None

    async def run(self, work: Callable[[Tx], Awaitable[T]]) -> T:
        if self.direct is not None:
            try:
                async with self.direct.transaction() as tx:
                    return await work(tx)
            except NeedSession:
                pass
        async with self.sessionmaker() as session, session.begin():
            return await work(SessionTx(session))

    def close(self) -> None:
        """Close the connection kept for SQLite (disposing the engine does too)."""
        if self.direct is not None:
            self.direct.close()
