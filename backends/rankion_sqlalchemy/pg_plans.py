"""Statements run again and again, by their compiled plan, on asyncpg itself.

SQLAlchemy's execution of a compiled statement on PostgreSQL goes through its asyncpg
adapter: a DB-API cursor emulated in the connection's greenlet, a prepared statement
cache of its own, a cursor result. That cost ~250 µs of CPU per statement, against
~120 µs for asyncpg to run the same statement, prepared once by its own cache
(``benchmarks.write_path``'s favourite toggle, in-process). A ``PATCH`` makes three
statements, a generation seven.

The plans are the ones ``compiled.Plans`` makes on SQLite (the SQL, the placeholders'
order, the types' bind and result processors), here for the asyncpg dialect
(``$1``-style placeholders); what a plan runs gives what SQLAlchemy's execution gives:
the same processors convert the same values, and asyncpg's own codecs (JSON, set up
by SQLAlchemy on every connection) are the ones SQLAlchemy's execution meets.

The transaction stays SQLAlchemy's (``session.ConnectionSession``): it is begun by
SQLAlchemy's adapter before the unit of work's first planned statement (or by
SQLAlchemy's execution of a statement without a plan); the planned statements run on
the same asyncpg connection, inside that transaction, and the commit or rollback is
SQLAlchemy's. A one-statement unit of work (autocommit) runs its
statement here at once. An expanding ``IN`` list is spelled out as SQLAlchemy does
(``$n`` placeholders numbered anew). Several parameter sets of a statement that
returns nothing (an image's tag rows) run as asyncpg's ``executemany``; several sets
of one that returns rows, an empty ``IN`` list, and every statement while a cursor
listener is attached, go through SQLAlchemy.

Errors are raised as SQLAlchemy raises them: asyncpg's exception becomes the DB-API
exception SQLAlchemy's adapter makes of it (an integrity violation an
``IntegrityError``, a syntax or access error a ``ProgrammingError``, any other
PostgreSQL error the base ``Error``, its SQLSTATE kept), wrapped in the matching
``DBAPIError``; what is not PostgreSQL's (a socket error, a connection asyncpg
cannot go on with) an ``InterfaceError`` (``Unavailable``, a ``503``). A connection
found closed or broken is invalidated and the pool replaced, as SQLAlchemy does on a
disconnect, so the next units of work connect anew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NoReturn

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .compiled import Plan, affected

__all__ = ["run"]


async def run(
    plan: Plan,
    connection: AsyncConnection,
    raw: Any,
    params: Mapping[str, Any] | None,
    engine: AsyncEngine,
) -> Result[Any] | None:
    """``plan`` with ``params`` on ``raw``, the asyncpg connection under ``connection``;
    None: not run (the plan does not apply to ``params``)."""
    if params is not None and not isinstance(params, Mapping):
        return await _run_many(plan, connection, raw, params, engine)
    arguments = plan.one_set(params)
    if arguments is None:
        return None
    sql, values = arguments
    try:
        if plan.returns_rows:
            return plan.result(await raw.fetch(sql, *values))
        status = await raw.execute(sql, *values)
    except Exception as failure:
        await _raise(failure, sql, values, connection, raw, engine)
    return affected(_rowcount(status))


async def _run_many(
    plan: Plan,
    connection: AsyncConnection,
    raw: Any,
    params: Sequence[Mapping[str, Any]],
    engine: AsyncEngine,
) -> Result[Any] | None:
    """Several parameter sets of a statement that returns nothing, as asyncpg's
    ``executemany`` (one prepared statement, the sets sent together); the rows it
    changed are not counted (``-1``, as SQLAlchemy's adapter gives)."""
    try:
        sets = plan.many_sets(params)
    except Exception:  # a value its type refuses: SQLAlchemy says which, as ever
        return None
    if sets is None:
        return None
    try:
        await raw.executemany(plan.sql, sets)
    except Exception as failure:
        await _raise(failure, plan.sql, sets, connection, raw, engine)
    return affected(-1)


def _rowcount(status: str) -> int:
    """The rows a command's status names (``UPDATE 3``, ``INSERT 0 1``); -1 if none."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else -1


async def _raise(
    failure: Exception,
    sql: str,
    values: list[Any],
    connection: AsyncConnection,
    raw: Any,
    engine: AsyncEngine,
) -> NoReturn:
    import asyncpg  # the ``postgres`` extra; present whenever such an engine exists

    known = (asyncpg.PostgresError, asyncpg.InterfaceError)
    broken = raw.is_closed() or not isinstance(failure, known)
    if broken:
        # closed, or left in a state asyncpg cannot go on from (a socket error, "another
        # operation is in progress" after the server ended the session): the
        # connection is done for, and the pool's others are suspect too
        await connection.invalidate()
        await engine.dispose()
    dialect = connection.dialect
    dbapi = dialect.loaded_dbapi
    kind: type[Exception]
    if broken:
        kind = dbapi.InterfaceError  # the connection's, not the statement's: a 503
    elif isinstance(failure, asyncpg.IntegrityConstraintViolationError):
        kind = dbapi.IntegrityError
    elif isinstance(failure, asyncpg.SyntaxOrAccessError):
        kind = dbapi.ProgrammingError
    elif isinstance(failure, asyncpg.InvalidCachedStatementError):
        kind = getattr(dbapi, "InvalidCachedStatementError", dbapi.NotSupportedError)
    elif isinstance(failure, asyncpg.InternalServerError):
        kind = getattr(dbapi, "InternalServerError", dbapi.InternalError)
    elif isinstance(failure, asyncpg.PostgresError):
        kind = dbapi.Error
    else:
        kind = dbapi.InterfaceError
    translated = kind(f"{type(failure)}: {failure}")
    translated.pgcode = translated.sqlstate = getattr(failure, "sqlstate", None)  # type: ignore[attr-defined]
    translated.__cause__ = failure
    wrapped = sa_exc.DBAPIError.instance(
        sql, values, translated, dbapi.Error, dialect=dialect, connection_invalidated=broken
    )
    raise wrapped from translated
