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

Units of work that run in the same turn of the loop share one ``COMMIT`` (a group
commit, as PostgreSQL's ``commit_delay`` or a batching log writer does). A unit of
work's ``commit`` ends its part of the transaction (a ``SAVEPOINT`` released, when it
joined one already open) and leaves the ``COMMIT`` to the end of the turn: the units
of work of every request that became ready in that turn run in the same transaction
first. ``SqlUnitOfWork`` waits for that ``COMMIT`` when the block is left, so a caller
never goes on (or answers) before its writes are durable; a failing unit of work
rolls back to its savepoint, and a ``COMMIT`` that fails fails every unit of work of
the group. A transaction, its locks, its log writes and the driver's commit work are
then paid once per group instead of once per write (``GROUP_LIMIT`` bounds a group).
The ``COMMIT`` never comes in the middle of a unit of work's part (it would commit
half of it); a part that stays open while the group waits (its unit of work awaits
something between two statements) for longer than the busy timeout is rolled back to
its savepoint, the group commits without it, and that unit of work fails with
``Unavailable``: a write that is done waits no longer for another's than a write
that comes after it waits for the lock.

A statement whose work grows with a team's data rather than with a page (``similar``
at a wide distance reads every hash of the team) would hold the loop for its whole
run, delaying every other team's requests: ``rows_off_loop`` runs such a statement on
a worker thread instead, on the same connection, while the loop serves the others.
"""

from __future__ import annotations

import asyncio
import contextlib
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

from rankion_core.errors import Unavailable

from .compiled import Plans
from .engine import driver_error, install_sqlite_hooks
from .rows import json_loads

__all__ = [
    "FIRST_PAUSE",
    "GROUP_LIMIT",
    "MAX_PAUSE",
    "InlineConnection",
    "InlineSession",
    "inline_engine",
]

Ts = TypeVarTuple("Ts")
T = TypeVar("T")

#: the first pause before trying ``BEGIN`` again when another process holds the lock
FIRST_PAUSE = 0.001
#: the longest pause between two tries
MAX_PAUSE = 0.025
#: the most units of work one ``COMMIT`` ends: the next one commits the group first
GROUP_LIMIT = 64
#: the savepoint of a unit of work that joined a transaction already open
PART = "unit"


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
    """The one connection of a storage's inline units of work, kept open between them,
    and the group of units of work whose ``COMMIT`` is to come (see the module).

    They run one at a time (the storage's writer queue), so they take turns on one
    connection instead of checking one out of the pool and back each time (half the
    cost of an empty unit of work). A connection that failed (invalidated, or its
    rollback raised) is closed, the group it held fails, and the next unit of work
    opens a new one.
    """

    def __init__(self, engine: Engine, wait: float = 5.0) -> None:
        self.engine = engine
        #: the longest a group waits for a unit of work's open part (``settle``)
        self.wait = wait
        self._connection: Connection | None = None
        #: the frequent statements' compiled forms, run on the driver (``compiled``)
        self.plans = Plans(engine.dialect)
        #: ``BEGIN IMMEDIATE`` (or ``EXCLUSIVE``): how a unit of work begins
        self.begin = _BEGINS.get(engine, "BEGIN IMMEDIATE")
        #: the units of work done whose writes the next ``COMMIT`` makes durable
        self._group: list[asyncio.Future[None]] = []
        #: the units of work that only read in the group's transaction (``watch``)
        self._watchers: list[asyncio.Future[None]] = []
        #: ``settle`` is scheduled for the end of the loop's turn
        self._due = False
        #: the unit of work between its first statement and its end, if any
        self.holder: InlineSession | None = None
        #: ``overdue`` is scheduled: the group waits for the holder's open part
        self._timer: asyncio.TimerHandle | None = None
        #: the statement a unit of work runs on a worker thread (``rows_off_loop``)
        self.reading: asyncio.Future[Any] | None = None
        #: ``close`` ran: a unit of work still running, or one after, is refused
        self.closed = False

    @property
    def held(self) -> bool:
        """A unit of work is between its first statement and its end."""
        return self.holder is not None

    def take(self) -> Connection:
        if self.closed:
            raise Unavailable("storage is unavailable (it was closed)")
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            if connection is not None:
                self.fail(connection)
            connection = self._connection = self.engine.connect()
        return connection

    @property
    def grouped(self) -> int:
        """How many units of work wait for the open transaction's ``COMMIT``."""
        return len(self._group)

    def join(self) -> asyncio.Future[None]:
        """A unit of work has ended its part: the future of the ``COMMIT`` to come,
        which ``settle`` runs at the end of this turn of the loop."""
        loop = asyncio.get_running_loop()
        durable = loop.create_future()
        self._group.append(durable)
        self.schedule()
        return durable

    def watch(self) -> asyncio.Future[None] | None:
        """The group's ``COMMIT`` for a unit of work that read in its transaction
        without writing: what it read is durable (or it fails) with the group's
        writes. None when no group is open. Not counted towards ``GROUP_LIMIT``."""
        if not self._group:
            return None
        durable = asyncio.get_running_loop().create_future()
        self._watchers.append(durable)
        self.schedule()
        return durable

    def schedule(self) -> None:
        """``settle`` at the end of this turn, when units of work wait for it."""
        if self._group and not self._due:
            self._due = True
            asyncio.get_running_loop().call_soon(self.settle)

    def settle(self) -> None:
        """``COMMIT`` the group; not while a unit of work is in the middle of its part
        (its end schedules this again, and ``overdue`` bounds the wait)."""
        self._due = False
        if not self._group:
            return
        holder = self.holder
        if holder is not None and holder.part_open:
            if self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self.wait, self.overdue)
            return
        connection = self._connection
        if connection is None or connection.closed or connection.invalidated:
            self.resolve(Unavailable("storage is unavailable (the connection was lost)"))
        elif not driver_of(connection).in_transaction:
            # a failed statement ended the transaction (SQLite's I/O errors do)
            self.resolve(Unavailable("storage is unavailable (the transaction was lost)"))
        else:
            try:
                end(connection, "COMMIT")
            except Exception as exc:
                self.abandon(connection, exc)
            else:
                self.resolve(None)

    def overdue(self) -> None:
        """The group has waited ``wait`` seconds for the holder's open part: roll the
        part back (``InlineSession.cut``) and commit the group without it. Not while
        its statement runs on a worker thread: the connection is the thread's then."""
        self._timer = None
        holder = self.holder
        if self._group and holder is not None and holder.part_open:
            reading = self.reading is not None and not self.reading.done()
            if reading or not holder.cut():
                self._timer = asyncio.get_running_loop().call_later(self.wait, self.overdue)
                return
        self.settle()

    def abandon(self, connection: Connection, cause: Exception) -> Unavailable:
        """A ``COMMIT`` failed: roll the transaction back (or close the connection),
        and fail every unit of work of the group; the ``Unavailable`` they get."""
        failure = Unavailable("storage could not commit the change")
        failure.__cause__ = cause
        try:
            if connection.in_transaction():
                connection.rollback()
            elif driver_of(connection).in_transaction:
                end(connection, "ROLLBACK")
        except Exception:
            self.fail(connection, failure)
        self.resolve(failure)
        return failure

    def resolve(self, failure: BaseException | None) -> None:
        """End the group: its units of work go on, or fail with ``failure``."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        group, self._group = self._group, []
        watchers, self._watchers = self._watchers, []
        for durable in (*group, *watchers):
            if durable.done():  # its caller was cancelled: the writes stand regardless
                continue
            if failure is None:
                durable.set_result(None)
            else:
                durable.set_exception(failure)

    def fail(self, connection: Connection, failure: BaseException | None = None) -> None:
        """Close a connection that failed (its rollback raised, it was invalidated);
        the group it held is lost with it."""
        self._connection = None
        with contextlib.suppress(Exception):
            connection.invalidate()
            connection.close()
        if self._group:
            self.resolve(failure or Unavailable("storage is unavailable (the connection was lost)"))

    async def interrupt_reading(self) -> None:
        """Interrupt a statement running on a worker thread (``rows_off_loop``) and
        wait for it to end: the connection must not be closed under it."""
        reading, connection = self.reading, self._connection
        if reading is None or reading.done():
            return
        if connection is not None:
            with contextlib.suppress(Exception):
                driver_of(connection).interrupt()
        await asyncio.wait({reading})

    def close(self) -> None:
        """Commit the group, unless a unit of work is in the middle of its part: a
        ``COMMIT`` would commit half of it, so the group is rolled back and fails."""
        self.closed = True
        if self.held:
            connection = self._connection
            if connection is not None:
                with contextlib.suppress(Exception):
                    end(connection, "ROLLBACK")
            self.resolve(Unavailable("storage is unavailable (it was closed)"))
            self.holder = None
        self.settle()
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

    The connection is taken on the first statement. A statement outside the unit of
    work's part of a transaction (the first, or the first after a commit) opens one:
    ``BEGIN``, waiting for the write lock as the module says for up to ``wait``
    seconds, or a ``SAVEPOINT`` when the group's transaction is open already (see the
    module). ``commit`` ends the part and joins the group: ``durable`` is then the
    ``COMMIT`` to wait for.

    The transaction is the driver's: ``BEGIN``, ``SAVEPOINT`` and ``COMMIT`` go straight
    to ``sqlite3`` (SQLAlchemy's transaction objects and events around them cost more
    than the statements). A statement SQLAlchemy runs itself (one without a plan)
    finds the transaction begun: its autobegin emits no second ``BEGIN``
    (``engine.install_sqlite_hooks``). SQLAlchemy then holds a transaction of its own
    that only its ``commit`` ends (a ``COMMIT``), so such a part commits the group
    then and there instead of joining it.
    """

    def __init__(self, shared: InlineConnection, wait: float) -> None:
        self._shared = shared
        self._plans = shared.plans
        self._wait = wait
        self._connection: Connection | None = None
        self._driver: sqlite3.Connection | None = None
        #: this unit of work's part of the transaction: None (none open), "begun"
        #: (it began the transaction) or "joined" (a savepoint in the group's)
        self._part: str | None = None
        #: ``one_statement``: None (not declared), True (declared, not run), False (run)
        self._one: bool | None = None
        #: the ``COMMIT`` this unit of work's writes wait for (``commit``)
        self.durable: asyncio.Future[None] | None = None
        #: the driver's count of changed rows when the part opened
        self._changes = 0
        #: a part of it joined a group's transaction (so it saw the group's writes)
        self._joined = False
        #: its open part was rolled back for the group (``cut``): it fails from now on
        self._cut = False

    @property
    def part_open(self) -> bool:
        """Between a statement of this unit of work and its ``commit`` or rollback."""
        return self._part is not None

    def cut(self) -> bool:
        """Roll back this unit of work's open part, a savepoint in the group's
        transaction, so that the group can commit without it
        (``InlineConnection.overdue``); its next statement or ``commit`` fails with
        ``Unavailable``. False: the part began the transaction (no group waits for
        it), nothing done."""
        connection = self._connection
        if connection is None or self._part != "joined":
            return False
        self._part, self._cut = None, True
        driver = cast(sqlite3.Connection, self._driver)
        try:
            if driver.in_transaction:
                driver.execute(f"ROLLBACK TO {PART}")
                driver.execute(f"RELEASE {PART}")
            if connection.in_transaction():
                self._end_group(connection)  # ends SQLAlchemy's: commits the group
        except Exception:  # the group fails with the connection
            self._shared.fail(connection)
        return True

    def _check_cut(self) -> None:
        """Fail a unit of work that cannot commit any more: its open part was rolled
        back (``cut``), or an earlier part's group failed to commit (``durable``)."""
        if self._cut:
            raise Unavailable(
                "storage is unavailable (the change was rolled back: other writes waited"
                " too long for it)"
            )
        lost = self._lost()
        if lost is not None:
            raise lost

    def _lost(self) -> BaseException | None:
        """The failure of the ``COMMIT`` an earlier part of this unit of work joined."""
        durable = self.durable
        if durable is None or not durable.done() or durable.cancelled():
            return None
        return durable.exception()

    def _take(self) -> Connection:
        connection = self._connection
        if connection is None:
            connection = self._connection = self._shared.take()
            self._driver = driver_of(connection)
            self._shared.holder = self
        return connection

    async def _ready(self) -> Connection:
        self._check_cut()
        connection = self._take()
        if connection.closed:  # the storage was closed in the middle of this part
            raise Unavailable("storage is unavailable (it was closed)")
        if self._part is None:
            await self._open(connection)
        return connection

    async def _open(self, connection: Connection) -> None:
        """Open this unit of work's part: join the group's transaction, or begin one
        (committing a full group first)."""
        shared, driver = self._shared, cast(sqlite3.Connection, self._driver)
        self._changes = driver.total_changes
        if driver.in_transaction and shared.grouped >= GROUP_LIMIT:
            self._end_group(connection)
        if driver.in_transaction:
            try:
                driver.execute(f"SAVEPOINT {PART}")
            except sqlite3.Error as failure:
                raise driver_error(PART, (), failure, connection.dialect) from failure
            self._part = "joined"
            self._joined = True
            return
        if shared.grouped:  # its transaction ended without a COMMIT of ours
            shared.resolve(Unavailable("storage is unavailable (the transaction was lost)"))
        begin = shared.begin
        await self._retry(lambda: driver.execute(begin), begin)
        self._part = "begun"

    def _end_group(self, connection: Connection) -> None:
        """``COMMIT`` the driver's transaction now: the group's writes, and this
        unit of work's part if one is open (``Unavailable`` for all if it fails)."""
        if not cast(sqlite3.Connection, self._driver).in_transaction:
            # SQLite rolled it back (an interrupt, an I/O error): nothing to commit
            with contextlib.suppress(Exception):
                connection.rollback()  # SQLAlchemy's, if it holds one: no statement
            self._part = None
            lost = Unavailable("storage is unavailable (the transaction was lost)")
            self._shared.resolve(lost)
            raise lost
        try:
            if connection.in_transaction():
                connection.commit()  # SQLAlchemy's (it ran a statement): ends the driver's
            else:
                end(connection, "COMMIT")
        except Exception as exc:
            self._part = None  # rolled back with the rest
            raise self._shared.abandon(connection, exc) from exc
        self._shared.resolve(None)  # the group's writes are durable with this COMMIT

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
            if not self._one:
                raise RuntimeError("a one-statement unit of work ran a second statement")
            self._one = False
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
        The group commits first when this unit of work has changed nothing yet; its
        transaction then begins anew, so what it read before may have changed since
        (another process may write in between): for reading units of work.
        The connection stays this unit of work's (its caller holds the writer queue);
        a cancelled caller still waits for the statement to end before it goes on, so
        the connection is never used by two threads at once."""
        connection = await self._ready()
        driver = cast(sqlite3.Connection, self._driver)
        if self._part == "joined" and driver.total_changes == self._changes:
            # the group need not wait for the thread: this part has changed nothing
            # yet, so the group commits now and the part begins a transaction anew
            driver.execute(f"RELEASE {PART}")
            self._end_group(connection)
            self._part = None
            connection = await self._ready()
        running = asyncio.ensure_future(
            asyncio.to_thread(lambda: list(connection.execute(statement, params).all()))
        )
        self._shared.reading = running
        try:
            return await asyncio.shield(running)
        finally:
            if not running.done():
                await asyncio.wait({running})

    async def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]:
        return (await self.execute(statement, params)).scalars()

    def one_statement(self) -> None:
        """Refuse a second statement (``ports.OneStatement``). The one statement joins
        the group as any unit of work does: one ``COMMIT`` for many such statements
        costs less than each in the driver's autocommit."""
        if self._connection is not None:
            raise RuntimeError("one_statement() after the unit of work's first statement")
        self._one = True

    def no_transaction(self) -> None:
        """Nothing to change (``ports.OneStatement``): the unit of work stays the one
        transaction of the group, as cheap as statements alone and holding the write
        lock, so nothing changes between its reads and its writes."""

    async def commit(self) -> None:
        self._check_cut()
        connection, part = self._connection, self._part
        if connection is None or part is None:
            return
        if connection.closed:  # the storage was closed: the part was rolled back
            raise Unavailable("storage is unavailable (it was closed)")
        if connection.in_transaction():
            self._end_group(connection)  # SQLAlchemy's transaction: it commits now
        else:
            driver = cast(sqlite3.Connection, self._driver)
            if part == "joined":
                if not driver.in_transaction:
                    raise Unavailable("storage is unavailable (the transaction was lost)")
                try:
                    driver.execute(f"RELEASE {PART}")
                except sqlite3.Error as failure:
                    raise driver_error(PART, (), failure, connection.dialect) from failure
            if self.durable is None or self.durable.done():
                self.durable = self._shared.join()  # else already in this group
        self._part = None

    async def rollback(self) -> None:
        connection, part = self._connection, self._part
        if connection is None or part is None:
            return
        self._part = None
        self._undo(connection, part)

    def _undo(self, connection: Connection, part: str) -> None:
        """Roll this unit of work's open part back, and nothing of the group's."""
        driver = cast(sqlite3.Connection, self._driver)
        if part == "begun":  # the transaction is this part alone
            if connection.in_transaction():
                connection.rollback()
            else:
                end(connection, "ROLLBACK")
            return
        if driver.in_transaction:
            try:
                driver.execute(f"ROLLBACK TO {PART}")
                driver.execute(f"RELEASE {PART}")
            except sqlite3.Error as failure:
                raise driver_error(PART, (), failure, connection.dialect) from failure
        if connection.in_transaction():
            self._end_group(connection)  # ends SQLAlchemy's: commits the group's writes

    async def close(self) -> None:
        """End the unit of work: roll back its open part, give the connection back, and
        let the group commit at the end of the turn."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        part, self._part = self._part, None
        shared = self._shared
        try:
            if part is not None and not (connection.invalidated or connection.closed):
                self._undo(connection, part)
            done = self.durable is None or self.durable.done()
            if self._joined and done and self._lost() is None:  # a failure stays
                # it read the group's writes: it answers once they are durable
                self.durable = shared.watch()
        except BaseException:
            shared.fail(connection)
            raise
        finally:
            shared.holder = None
            if connection.invalidated:
                shared.fail(connection)
        shared.schedule()
