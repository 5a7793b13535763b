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
from functools import partial
from typing import Any, TypeVarTuple, overload
from urllib.request import pathname2url

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, Result, Row, ScalarResult
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Executable
from sqlalchemy.sql.selectable import TypedReturnsRows

from .compiled import Plans
from .engine import install_sqlite_hooks

__all__ = ["FIRST_PAUSE", "MAX_PAUSE", "InlineConnection", "InlineSession", "inline_engine"]

Ts = TypeVarTuple("Ts")

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
        "sqlite+pysqlite://", creator=partial(_connect, path), poolclass=QueuePool
    )
    install_sqlite_hooks(engine, busy_timeout_ms, begin, then_busy_timeout_ms=0)
    return engine


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

    def take(self) -> Connection:
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            if connection is not None:
                connection.close()
            connection = self._connection = self.engine.connect()
        return connection

    def release(self) -> None:
        connection = self._connection
        if connection is None or not connection.in_transaction():
            return
        try:
            connection.rollback()
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


class InlineSession:
    """``AsyncSession``'s surface for the repositories, run inline on ``shared``'s
    connection (the caller holds the storage's writer queue).

    The connection is taken on the first statement; a statement outside a transaction
    (the first, or the first after a commit) begins one, waiting for the write lock
    as the module says for up to ``wait`` seconds.
    """

    def __init__(self, shared: InlineConnection, wait: float) -> None:
        self._shared = shared
        self._plans = shared.plans
        self._wait = wait
        self._connection: Connection | None = None

    async def _ready(self) -> Connection:
        connection = self._connection
        if connection is None:
            connection = self._connection = self._shared.take()
        if not connection.in_transaction():
            await self._begin(connection)
        return connection

    async def _begin(self, connection: Connection) -> None:
        deadline = time.monotonic() + self._wait
        pause = FIRST_PAUSE
        while True:
            try:
                connection.begin()
                return
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
        return self._run(await self._ready(), statement, params)

    def _run(
        self, connection: Connection, statement: Executable, params: Any
    ) -> Result[*tuple[Any, ...]]:
        """By the statement's plan where it has one (``compiled``) and nobody listens
        for statements, by SQLAlchemy otherwise."""
        dispatch = connection.dispatch
        if not (dispatch.before_cursor_execute or dispatch.after_cursor_execute):
            plan = self._plans.lookup(statement, params)
            if plan is not None:
                result = plan.run(connection, params)
                if result is not None:
                    return result
        return connection.execute(statement, params)

    async def scalar(self, statement: Executable, params: Any = None) -> Any:
        return self._run(await self._ready(), statement, params).scalar()

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
        return self._run(await self._ready(), statement, params).scalars()

    def one_statement(self) -> None:
        """Nothing to change: the statement takes the write lock either way, and
        ``BEGIN``/``COMMIT`` cost no round trip on SQLite."""

    async def commit(self) -> None:
        if self._connection is not None:
            self._connection.commit()

    async def rollback(self) -> None:
        if self._connection is not None:
            self._connection.rollback()

    async def close(self) -> None:
        """Give the connection back (rolling back what was not committed)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            self._shared.release()
