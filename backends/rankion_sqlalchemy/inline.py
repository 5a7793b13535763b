"""SQLite units of work run inline, on the event loop's thread, with the stdlib driver.

Through ``AsyncSession`` and aiosqlite every statement of a unit of work crossed to
aiosqlite's thread and back (as did ``BEGIN``, ``COMMIT`` and the close), each
crossing waiting for the scheduler and the GIL, and the database's one write lock
was held across all of them: a ``PATCH`` took ~5 ms of mostly waiting per
serialised write, for statements that cost tens of microseconds. ``InlineSession``
is the part of ``AsyncSession`` the repositories use (``execute``, ``scalar``,
``scalars``, ``commit``, ``rollback``, ``close``) on a synchronous SQLAlchemy
``Connection`` over ``sqlite3``: its methods are coroutines that never suspend, so
a unit of work makes no crossing at all (the read fast path, ``sqlite_reads``, made
the same choice for the same reason).

The one thing that could block the loop is waiting for the write lock while another
process (a CLI command, a second server worker) holds it. The connections here have
``busy_timeout=0``: ``BEGIN IMMEDIATE`` fails at once when the lock is taken, and
``InlineSession`` tries again after an ``asyncio.sleep`` that doubles up to
``MAX_PAUSE``, for as long as SQLite's busy timeout would have waited; then the
``OperationalError`` surfaces (the unit of work answers ``Unavailable``). Once the
transaction holds the write lock, no statement of it waits for another connection
(WAL: readers never block the writer).

A statement whose work grows with a team's data rather than with a page (``similar``
at a wide distance reads every hash of the team) would hold the loop for its whole
run, delaying every other team's requests: ``rows_off_loop`` runs such a statement on
a worker thread instead, on the same connection, while the loop serves the others.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
import weakref
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar, TypeVarTuple, cast, overload
from urllib.request import pathname2url

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, Result, Row, ScalarResult
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Executable
from sqlalchemy.sql.selectable import TypedReturnsRows

from .compiled import Plans
from .engine import driver_error, install_sqlite_hooks
from .rows import json_loads

__all__ = ["FIRST_PAUSE", "MAX_PAUSE", "InlineConnection", "InlineSession", "inline_engine"]

Ts = TypeVarTuple("Ts")
T = TypeVar("T")

#: the first pause before trying ``BEGIN`` again when another process holds the lock
FIRST_PAUSE = 0.001
#: the longest pause between two tries
MAX_PAUSE = 0.025


def _connect(path: str) -> sqlite3.Connection:
    # ``mode=rw``: a missing file is an error (503), never a new empty database
    uri = f"file:{pathname2url(os.path.abspath(path))}?mode=rw"
    return sqlite3.connect(uri, uri=True, check_same_thread=False)


def inline_engine(path: str, *, busy_timeout_ms: int, begin: str) -> Engine:
    """A synchronous engine on the SQLite file ``path`` for ``InlineSession``: the
    pragmas of every SQLite connection here, units of work begun
    ``BEGIN <begin>``, and (after the pragmas) ``busy_timeout=0``."""
    engine = create_sync_engine(
        "sqlite+pysqlite://",
        creator=partial(_connect, path),
        poolclass=QueuePool,
        json_deserializer=json_loads,  # orjson, as the reads (``rows``)
    )
    install_sqlite_hooks(engine, busy_timeout_ms, begin, then_busy_timeout_ms=0)
    _BEGINS[engine] = f"BEGIN {begin}"
    return engine


#: the statement that begins the units of work of each engine ``inline_engine`` made
_BEGINS: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()


def _busy(failure: sa_exc.OperationalError) -> bool:
    code = getattr(failure.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


class InlineConnection:
    """The one connection of a storage's inline units of work, kept open between them.

    They run one at a time (the storage's writer queue), so they take turns on one
    connection instead of checking one out of the pool and back each time (half the
    cost of an empty unit of work). ``release`` rolls back what was not committed; a
    connection that failed (invalidated, or its rollback raised) is closed and the next
    unit of work opens a new one.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None
        #: the frequent statements' compiled forms, run on the driver (``compiled``)
        self.plans = Plans(engine.dialect)
        #: ``BEGIN IMMEDIATE`` (or ``EXCLUSIVE``): how a unit of work begins
        self.begin = _BEGINS.get(engine, "BEGIN IMMEDIATE")

    def take(self) -> Connection:
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            if connection is not None:
                connection.close()
            connection = self._connection = self.engine.connect()
        return connection

    def release(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            if connection.in_transaction():
                connection.rollback()
            elif driver_of(connection).in_transaction:
                end(connection, "ROLLBACK")
        except BaseException:
            self._connection = None
            connection.invalidate()
            connection.close()
            raise

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
        self.engine.dispose()


def driver_of(connection: Connection) -> sqlite3.Connection:
    """The stdlib driver's connection under ``connection``."""
    return cast(sqlite3.Connection, connection.connection.dbapi_connection)


def end(connection: Connection, how: str) -> None:
    """``COMMIT`` or ``ROLLBACK`` the driver's transaction; its error wrapped as
    SQLAlchemy wraps one (an I/O error at the commit is ``OperationalError``: a 503)."""
    driver = driver_of(connection)
    try:
        if how == "COMMIT":
            driver.commit()
        else:
            driver.rollback()
    except sqlite3.Error as failure:
        raise driver_error(how, (), failure, connection.dialect) from failure


class InlineSession:
    """``AsyncSession``'s surface for the repositories, run inline on ``shared``'s
    connection (the caller holds the storage's writer queue).

    The connection is taken on the first statement; a statement outside a transaction
    (the first, or the first after a commit) begins one, waiting for the write lock
    as the module says for up to ``wait`` seconds.

    The transaction is the driver's: ``BEGIN`` and ``COMMIT`` go straight to
    ``sqlite3`` (SQLAlchemy's transaction objects and events around them cost more
    than the statements). A statement SQLAlchemy runs itself (one without a plan)
    finds the transaction begun: its autobegin emits no second ``BEGIN``
    (``engine.install_sqlite_hooks``), and its ``commit`` ends the driver's.
    """

    def __init__(self, shared: InlineConnection, wait: float) -> None:
        self._shared = shared
        self._plans = shared.plans
        self._wait = wait
        self._connection: Connection | None = None
        self._driver: sqlite3.Connection | None = None
        #: ``one_statement``: None (not declared), True (declared, not run), False (run)
        self._one: bool | None = None

    def _take(self) -> Connection:
        connection = self._connection
        if connection is None:
            connection = self._connection = self._shared.take()
            self._driver = driver_of(connection)
        return connection

    async def _ready(self) -> Connection:
        connection = self._take()
        if not cast(sqlite3.Connection, self._driver).in_transaction:
            await self._begin()
        return connection

    async def _begin(self) -> None:
        driver = cast(sqlite3.Connection, self._driver)
        begin = self._shared.begin
        await self._retry(lambda: driver.execute(begin), begin)

    async def _retry(self, attempt: Callable[[], T], sql: str) -> T:
        """``attempt()``, again after a pause while the write lock is another
        process's (the module says how long)."""
        deadline = time.monotonic() + self._wait
        pause = FIRST_PAUSE
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as failure:
                code = failure.sqlite_errorcode & 0xFF
                busy = code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() + pause > deadline:
                    dialect = self._shared.engine.dialect
                    raise driver_error(sql, (), failure, dialect) from failure
            except sa_exc.OperationalError as failure:
                if not _busy(failure) or time.monotonic() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_PAUSE)

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*Ts], params: Any = None
    ) -> Result[*Ts]: ...
    @overload
    async def execute(
        self, statement: Executable, params: Any = None
    ) -> Result[*tuple[Any, ...]]: ...
    async def execute(self, statement: Executable, params: Any = None) -> Result[*tuple[Any, ...]]:
        if self._one is not None:
            return await self._only(statement, params)
        return self._run(await self._ready(), statement, params)

    async def _only(self, statement: Executable, params: Any) -> Result[*tuple[Any, ...]]:
        """The one statement of a ``one_statement`` unit of work: by its plan, in the
        driver's autocommit (the statement is its own transaction), else in one."""
        if not self._one:
            raise RuntimeError("a one-statement unit of work ran a second statement")
        self._one = False
        connection = self._take()
        plan = self._plans.for_connection(connection, statement, params)
        if plan is not None:
            driver = cast(sqlite3.Connection, self._driver)
            result = await self._retry(lambda: plan.run(connection, params, driver), plan.sql)
            if result is not None:
                return result
        return self._run(await self._ready(), statement, params)

    def _run(
        self, connection: Connection, statement: Executable, params: Any
    ) -> Result[*tuple[Any, ...]]:
        """By the statement's plan where it has one, by SQLAlchemy otherwise."""
        plan = self._plans.for_connection(connection, statement, params)
        if plan is not None:
            result = plan.run(connection, params, cast(sqlite3.Connection, self._driver))
            if result is not None:
                return result
        return connection.execute(statement, params)

    async def scalar(self, statement: Executable, params: Any = None) -> Any:
        return (await self.execute(statement, params)).scalar()

    async def rows_off_loop(
        self, statement: Executable, params: Any = None
    ) -> list[Row[*tuple[Any, ...]]]:
        """Every row of ``statement``, run on a worker thread (the module says when).
        The connection stays this unit of work's (its caller holds the writer queue);
        a cancelled caller still waits for the statement to end before it goes on, so
        the connection is never used by two threads at once."""
        connection = await self._ready()
        running = asyncio.ensure_future(
            asyncio.to_thread(lambda: list(connection.execute(statement, params).all()))
        )
        try:
            return await asyncio.shield(running)
        finally:
            if not running.done():
                await asyncio.wait({running})

    async def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]:
        return (await self.execute(statement, params)).scalars()

    def one_statement(self) -> None:
        """Run the one statement to come in the driver's autocommit (no ``BEGIN``, no
        ``COMMIT``) and refuse a second (``ports.OneStatement``)."""
        if self._connection is not None:
            raise RuntimeError("one_statement() after the unit of work's first statement")
        self._one = True

    async def commit(self) -> None:
        connection = self._connection
        if connection is None:
            return
        if connection.in_transaction():
            connection.commit()  # SQLAlchemy's (it ran a statement): ends the driver's
        else:
            end(connection, "COMMIT")

    async def rollback(self) -> None:
        connection = self._connection
        if connection is None:
            return
        if connection.in_transaction():
            connection.rollback()
        else:
            end(connection, "ROLLBACK")

    async def close(self) -> None:
        """Give the connection back (rolling back what was not committed)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            self._shared.release()
