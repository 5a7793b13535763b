"""``SqlStorage``: the ``Storage`` port on SQLAlchemy 2 async (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import AsyncEngine

from rankion_core.errors import Unavailable
from rankion_core.ports import Reads, Storage, UnitOfWork

from .compiled import Plans
from .engine import begin_mode, create_engine, sqlite_file
from .inline import InlineConnection, InlineSession, inline_engine
from .pg_reads import PgReads
from .reads import SqlReads
from .session import ConnectionSession, Session
from .sqlite_reads import SqliteReads
from .uow import UNAVAILABLE_ERRORS, SqlUnitOfWork

__all__ = ["MIGRATIONS", "SqlStorage", "alembic_config", "open_storage"]

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code (no ``alembic.ini`` needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "heads")  # branches from parallel work merge here


class SqlStorage:
    """Units of work over one engine; ``open_storage(url)`` makes one."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        queue_writers: bool = True,
        writer_wait: float = 5.0,
        inline: Engine | None = None,
    ) -> None:
        """``inline``: a SQLite file's engine for ``InlineSession`` (``inline_engine``);
        units of work then run on the calling thread, one at a time on one connection
        (``InlineConnection``), ``engine`` serves the rest."""
        self.engine = engine
        self.dialect = engine.dialect.name
        self.inline_engine = inline
        self._inline = InlineConnection(inline, writer_wait) if inline is not None else None
        #: PostgreSQL: one-statement units of work in autocommit, on the same pool
        autocommit = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.dialect == "postgresql"
            else None
        )
        #: PostgreSQL: the frequent statements run by their plan on asyncpg (``pg_plans``)
        plans = Plans(engine.dialect) if self.dialect == "postgresql" else None
        self._sessions: Callable[[], Session] = (
            partial(ConnectionSession, engine, autocommit, plans)
            if self._inline is None
            else partial(InlineSession, self._inline, writer_wait)
        )
        #: SQLite (whose units of work begin IMMEDIATE unless told otherwise): this
        #: process's units of work take the write lock one after another (always with
        #: ``inline``: its units of work share one connection)
        queued = (queue_writers or inline is not None) and self.dialect == "sqlite"
        self._writer = asyncio.Lock() if queued else None
        self._writer_wait = writer_wait
        path = sqlite_file(engine.url)
        self._sqlite_reads = SqliteReads(path) if path is not None else None
        self._pg_reads = PgReads(engine, storage=self) if self.dialect == "postgresql" else None
        self._reads: Reads = (
            self._sqlite_reads or self._pg_reads or SqlReads(self, self.unit_of_work)
        )

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self.dialect, self._writer, self._writer_wait)

    def reads(self) -> Reads:
        """The reads: the stdlib driver on a SQLite file (read-only connections, off
        the writer's), asyncpg on PostgreSQL (the gallery's; the rest through units of
        work), else (in-memory SQLite) units of work."""
        return self._reads

    async def migrate(self) -> None:
        """Run the Alembic migrations shipped in this package up to ``head``."""
        try:
            async with self.engine.begin() as connection:
                await connection.run_sync(_upgrade)
        except UNAVAILABLE_ERRORS as exc:
            raise Unavailable("storage is unavailable") from exc

    async def ping(self) -> None:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except UNAVAILABLE_ERRORS as exc:
            raise Unavailable("storage is unavailable") from exc

    async def close(self) -> None:
        if self._sqlite_reads is not None:
            await self._sqlite_reads.close()
        if self._pg_reads is not None:
            await self._pg_reads.close()
        if self._inline is not None:
            if self._writer is not None:  # a unit of work still running ends first
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._writer_wait):
                        await self._writer.acquire()
                    self._writer.release()
            await self._inline.interrupt_reading()
            self._inline.close()
        await self.engine.dispose()


def open_storage(url: str, **options: Any) -> SqlStorage:
    """``sqlite:///path.db``, ``postgresql://…`` (drivers are normalised to aiosqlite
    and asyncpg). ``options``: ``busy_timeout_ms`` and ``sqlite_begin`` for SQLite,
    anything else goes to ``create_async_engine`` (``pool_size``, ``connect_args``, …).

    The units of work of a SQLite file that begin ``IMMEDIATE`` or ``EXCLUSIVE`` (the
    default) run inline with the stdlib driver (``inline``); deferred ones (which may
    have to wait for the write lock half-way) and in-memory databases on aiosqlite.
    """
    mode = begin_mode(str(options.get("sqlite_begin", "IMMEDIATE")))
    busy_timeout_ms = int(options.get("busy_timeout_ms", 5000))
    engine = create_engine(url, **options)
    path = sqlite_file(engine.url)
    inline = None
    if path is not None and mode != "DEFERRED":
        inline = inline_engine(path, busy_timeout_ms=busy_timeout_ms, begin=mode)
    return SqlStorage(
        engine, queue_writers=mode != "DEFERRED", writer_wait=busy_timeout_ms / 1000, inline=inline
    )


if TYPE_CHECKING:  # mypy proves the ports are implemented, structurally

    def _conforms(storage: SqlStorage) -> Storage:
        return storage

    def _uow_conforms(uow: SqlUnitOfWork) -> UnitOfWork:
        return uow
