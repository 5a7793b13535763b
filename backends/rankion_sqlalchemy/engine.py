"""Making the async engine: URL drivers, SQLite pragmas and its BEGIN."""

from __future__ import annotations

import sqlite3
import time
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Dialect, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from rankion_core.errors import Invalid

__all__ = [
    "begin_mode",
    "create_engine",
    "driver_error",
    "install_sqlite_hooks",
    "normalise_url",
    "sqlite_file",
]

_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
_BEGIN_MODES = ("DEFERRED", "IMMEDIATE", "EXCLUSIVE")

#: a pooled PostgreSQL connection idle at least this long is pinged before it is
#: handed out; one in steady use is not (the ping costs three round trips)
PING_AFTER_IDLE_SECONDS = 5.0

#: the PostgreSQL connections a process keeps for its units of work, all kept once
#: made (no overflow; the read fast path's own pool is as large)
POOL_SIZE = 10


def normalise_url(url: str | URL) -> URL:
    """``sqlite:///x.db`` and ``postgresql://…`` with the async driver this backend uses."""
    parsed = make_url(url)
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise Invalid(
            f"unsupported storage URL scheme {parsed.drivername!r}",
            details={"url": "use sqlite:///path.db or postgresql://user@host/db"},
        )
    return parsed.set(drivername=driver)


def create_engine(
    url: str | URL,
    *,
    busy_timeout_ms: int = 5000,
    sqlite_begin: str = "IMMEDIATE",
    ping_after_idle: float = PING_AFTER_IDLE_SECONDS,
    **options: Any,
) -> AsyncEngine:
    """The engine for ``url``; ``options`` go to ``create_async_engine``.

    On SQLite, ``sqlite_begin`` is how every unit of work begins. ``IMMEDIATE`` (the
    default) takes the write lock up front, waiting up to ``busy_timeout_ms`` for it:
    a unit of work that reads and then writes can then never fail with "database is
    locked" half-way (a deferred one can, when another writer committed in between).
    WAL keeps readers outside units of work unblocked.

    On PostgreSQL a pooled connection that sat idle ``ping_after_idle`` seconds or more
    is pinged before use, and replaced when it is dead (a restarted server, an idle
    timeout); one used within that time is handed out as it is. The pool holds up to
    ``POOL_SIZE`` connections (``pool_size`` in ``options``) and makes no more:
    SQLAlchemy's default of 5 plus 10 "overflow" connections closes an overflow one as
    soon as it comes back to a pool with 5 idle, so under steady concurrent load it
    connected anew every ten or so units of work (226 connections in a 4 s run of
    favourites, 20 with a fixed pool), and the connecting cost more CPU than the
    statements (``benchmarks.write_path --postgres``: favourite 0.34 → 0.63 times raw).
    A unit of work that finds them all busy waits for one (``pool_timeout``, 30 s).
    """
    normalised = normalise_url(url)
    postgres = normalised.get_backend_name() == "postgresql"
    if postgres:
        _postgres_settings(options)
    engine = create_async_engine(normalised, **options)
    if postgres and not options.get("pool_pre_ping"):
        _install_idle_ping(engine, ping_after_idle)
    if normalised.get_backend_name() == "sqlite":
        install_sqlite_hooks(engine.sync_engine, busy_timeout_ms, begin_mode(sqlite_begin))
    return engine


def begin_mode(sqlite_begin: str) -> str:
    """``DEFERRED``, ``IMMEDIATE`` or ``EXCLUSIVE`` (any case); else ``Invalid``."""
    mode = sqlite_begin.upper()
    if mode not in _BEGIN_MODES:
        raise Invalid(f"sqlite_begin must be one of {', '.join(_BEGIN_MODES)}")
    return mode


def _postgres_settings(options: dict[str, Any]) -> None:
    """A fixed pool of ``POOL_SIZE`` unless told otherwise; every statement planned for
    its own values (asyncpg prepares statements, and a generic plan cannot tell a tag
    on ten images from one on half of them)."""
    options.setdefault("pool_size", POOL_SIZE)
    options.setdefault("max_overflow", 0)
    connect_args = dict(options.get("connect_args") or {})
    settings = {"plan_cache_mode": "force_custom_plan", **connect_args.get("server_settings", {})}
    options["connect_args"] = {**connect_args, "server_settings": settings}


def _install_idle_ping(engine: AsyncEngine, idle_seconds: float) -> None:
    """SQLAlchemy's ``pool_pre_ping``, only for connections idle ``idle_seconds``."""
    idle_since = "rankion_idle_since"

    @event.listens_for(engine.sync_engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[idle_since] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[idle_since] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(idle_since)
        if since is not None and time.monotonic() - since < idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as dead:  # the pool drops it and connects anew
            raise sa_exc.DisconnectionError("the pooled connection is gone") from dead


def driver_error(
    statement: str, params: Any, failure: Exception, dialect: Dialect
) -> BaseException:
    """A driver's error wrapped as SQLAlchemy wraps it (``IntegrityError``,
    ``OperationalError``, …) for a statement run on the driver directly."""
    base = dialect.loaded_dbapi.Error
    return cast(
        BaseException, sa_exc.DBAPIError.instance(statement, params, failure, base, dialect=dialect)
    )


def install_sqlite_hooks(
    engine: Engine, busy_timeout_ms: int, mode: str, *, then_busy_timeout_ms: int | None = None
) -> None:
    """Every SQLite connection of ``engine``: WAL, ``busy_timeout_ms``, foreign keys,
    ``synchronous=NORMAL``; and SQLAlchemy's documented recipe for its transactions:
    the driver emits no BEGIN, we emit ``BEGIN <mode>``.
    ``then_busy_timeout_ms``: the busy timeout once those pragmas have run."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            f"PRAGMA busy_timeout={int(busy_timeout_ms)}",
            "PRAGMA foreign_keys=ON",
            "PRAGMA synchronous=NORMAL",
            *(
                []
                if then_busy_timeout_ms is None
                else [f"PRAGMA busy_timeout={then_busy_timeout_ms}"]
            ),
        ):
            cursor.execute(pragma)
        cursor.close()

    begin = f"BEGIN {mode}"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        driver = connection.connection.dbapi_connection
        if isinstance(driver, sqlite3.Connection) and driver.in_transaction:
            return  # begun on the driver already (``inline.InlineSession``)
        # on the driver's cursor: SQLAlchemy's execution of it cost more than the BEGIN
        cursor = connection.connection.cursor()
        try:
            cursor.execute(begin)
        except connection.dialect.loaded_dbapi.Error as failure:
            raise driver_error(begin, (), failure, connection.dialect) from failure
        finally:
            cursor.close()


def sqlite_file(url: URL) -> str | None:
    """The database file of a SQLite URL (None: not SQLite, or in memory)."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or url.query:
        return None
    return database
