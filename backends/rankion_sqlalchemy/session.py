"""``Session``: what the repositories use of a session, whichever runs the statements."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol, TypeVarTuple, cast, overload

from sqlalchemy.engine import Connection, Result, ScalarResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable
from sqlalchemy.sql.selectable import TypedReturnsRows

from rankion_core.errors import Unavailable

from . import pg_plans
from .compiled import Plans

__all__ = ["ConnectionSession", "Session"]

Ts = TypeVarTuple("Ts")


class Session(Protocol):
    """``ConnectionSession`` (PostgreSQL, in-memory SQLite) or ``InlineSession`` (a
    SQLite file: ``inline``)."""

    #: the ``COMMIT`` that makes the committed writes durable, when it is still to
    #: come as the unit of work ends (``inline``'s group commit); None: done already
    durable: asyncio.Future[None] | None

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*Ts], params: Any = None
    ) -> Result[*Ts]: ...
    @overload
    async def execute(
        self, statement: Executable, params: Any = None
    ) -> Result[*tuple[Any, ...]]: ...
    async def scalar(self, statement: Executable, params: Any = None) -> Any: ...
    async def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def close(self) -> None: ...
    def one_statement(self) -> None:
        """``ports.OneStatement``: run the one statement to come as the session can."""

    def no_transaction(self) -> None:
        """``ports.OneStatement``: run each statement to come as the session can."""


async def _begin(connection: AsyncConnection, raw: Any) -> bool:
    """Begin ``connection``'s transaction as SQLAlchemy's asyncpg adapter begins it
    before its first statement (``BEGIN``, kept by the adapter: the commit and the
    rollback stay SQLAlchemy's), so that statement too can run by its plan on ``raw``,
    the asyncpg connection; whether it is begun. Not begun (an adapter without that
    method, a failed ``BEGIN``): SQLAlchemy runs the statement, begins as ever and
    says what failed."""
    try:
        adapter = cast(Any, connection.sync_connection).connection.dbapi_connection
        start = getattr(adapter, "_start_transaction", None)
        if start is None:
            return False
        if not connection.in_transaction():
            await connection.begin()
        await start()
    except Exception:  # SQLAlchemy's own BEGIN raises it, wrapped, or connects anew
        return False
    except BaseException:
        # cancelled with the BEGIN on its way: the server may be in a transaction the
        # adapter does not know of, which no rollback would end (SQLAlchemy's own
        # execution invalidates its connection here too)
        await asyncio.shield(connection.invalidate())
        raise
    return bool(raw.is_in_transaction())


class ConnectionSession:
    """The ``Session`` of an async engine: one ``AsyncConnection``, taken from the pool
    on the first statement, in a transaction begun by it (SQLAlchemy's autobegin) and
    again by the first statement after a commit; ``close`` rolls back what was not
    committed and gives the connection back.

    The repositories run Core statements only, so an ORM ``AsyncSession`` added its
    session layer to every statement and unit of work for nothing (~15 % of a
    one-statement unit of work's CPU on PostgreSQL)."""

    #: every ``commit`` here has committed when it returns
    durable: asyncio.Future[None] | None = None

    def __init__(
        self,
        engine: AsyncEngine,
        autocommit: AsyncEngine | None = None,
        plans: Plans | None = None,
    ) -> None:
        """``autocommit``: ``engine`` in autocommit (same pool), for the statement of a
        ``one_statement`` unit of work that has no plan yet;
        ``plans``: on PostgreSQL, the frequent statements' plans, run on asyncpg
        (``pg_plans``)."""
        self._engine = engine
        self._autocommit = autocommit
        self._plans = plans
        self._connection: AsyncConnection | None = None
        #: the asyncpg connection under ``_connection`` (with ``plans``)
        self._raw: Any = None
        #: ``no_transaction``: each statement runs alone, in autocommit
        self._alone = False
        #: ``one_statement``: and a second is refused
        self._one = False

    def one_statement(self) -> None:
        """Run the one statement to come in autocommit (no ``BEGIN``, no ``COMMIT``:
        one round trip where a transaction makes three) and refuse a second, which
        would not be atomic with it (``ports.OneStatement``). Without an autocommit
        engine (SQLite in memory) the unit of work stays a transaction."""
        self.no_transaction()
        self._one = self._alone

    def no_transaction(self) -> None:
        """Run each statement to come alone, in autocommit, as ``one_statement`` runs
        its one (``ports.OneStatement``). A statement that SQLAlchemy runs on a
        connection taken for a planned one begins a transaction, which the commit
        ends. Without an autocommit engine the unit of work stays a transaction."""
        if self._autocommit is None:
            return
        if self._connection is not None:
            raise RuntimeError("no_transaction() after the unit of work's first statement")
        self._alone = True

    async def _ready(self, engine: AsyncEngine | None = None) -> AsyncConnection:
        if self._connection is None:
            connection = self._connection = await (engine or self._engine).connect()
            if self._plans is not None:
                # just connected, so at hand (``get_raw_connection`` would cross into
                # SQLAlchemy's greenlet for it)
                self._raw = connection.sync_connection.connection.driver_connection  # type: ignore[union-attr]
                if self._raw.is_in_transaction():  # left so: its writes would never commit
                    await connection.invalidate()
                    raise Unavailable(
                        "storage is unavailable (a connection was left in a transaction)"
                    )
        elif self._one:
            raise RuntimeError("a one-statement unit of work ran a second statement")
        return self._connection

    async def _alone_statement(self, statement: Executable, params: Any) -> Result[Any]:
        """A statement of a ``no_transaction`` unit of work, in autocommit: by its plan
        on asyncpg outside any transaction (a connection of the engine as it is, so
        the pool does not switch its isolation level on the way out and back), else
        by SQLAlchemy on the autocommit engine (the first statement's connection)."""
        plans = self._plans
        plan = plans.for_connection(self._engine.sync_engine, statement, params) if plans else None
        if plan is None:
            return await (await self._ready(self._autocommit)).execute(statement, params)
        connection = await self._ready()
        result = await pg_plans.run(plan, connection, self._raw, params, self._engine)
        # a plan that does not apply to these values: SQLAlchemy runs the statement
        # (and says what it refuses), in a transaction the commit ends
        return result if result is not None else await connection.execute(statement, params)

    @overload
    async def execute(
        self, statement: TypedReturnsRows[*Ts], params: Any = None
    ) -> Result[*Ts]: ...
    @overload
    async def execute(
        self, statement: Executable, params: Any = None
    ) -> Result[*tuple[Any, ...]]: ...
    async def execute(self, statement: Executable, params: Any = None) -> Result[*tuple[Any, ...]]:
        if self._alone:
            return await self._alone_statement(statement, params)
        connection = await self._ready()
        raw = self._raw
        if raw is not None:
            plans, sync = cast(Plans, self._plans), cast(Connection, connection.sync_connection)
            plan = plans.for_connection(sync, statement, params)
            if plan is not None and (raw.is_in_transaction() or await _begin(connection, raw)):
                result = await pg_plans.run(plan, connection, raw, params, self._engine)
                if result is not None:
                    return result
        return await connection.execute(statement, params)

    async def scalar(self, statement: Executable, params: Any = None) -> Any:
        return (await self.execute(statement, params)).scalar()

    async def scalars(self, statement: Executable, params: Any = None) -> ScalarResult[Any]:
        return (await self.execute(statement, params)).scalars()

    async def commit(self) -> None:
        connection = self._connection
        if connection is not None and connection.in_transaction():
            await connection.commit()

    async def rollback(self) -> None:
        if self._connection is not None:
            await self._connection.rollback()

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()
