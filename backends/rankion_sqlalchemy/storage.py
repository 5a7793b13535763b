"""``SqlStorage``: the ``Storage`` port on SQLAlchemy 2 async (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from rankion_core.errors import Unavailable
from rankion_core.ports import GalleryReads, Storage, UnitOfWork

from .engine import create_engine, sqlite_file
from .pg_reads import PgReads
from .reads import SqlReads
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
        self, engine: AsyncEngine, *, queue_writers: bool = True, writer_wait: float = 5.0
    ) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        #: SQLite (whose units of work begin IMMEDIATE unless told otherwise): this
        #: process's units of work take the write lock one after another
        queued = queue_writers and self.dialect == "sqlite"
        self._writer = asyncio.Lock() if queued else None
        self._writer_wait = writer_wait
        path = sqlite_file(engine.url)
        self._sqlite_reads = SqliteReads(path) if path is not None else None
        self._pg_reads = PgReads(engine) if self.dialect == "postgresql" else None
        self._reads: GalleryReads = (
            self._sqlite_reads or self._pg_reads or SqlReads(self, self.unit_of_work)
        )

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._sessions, self.dialect, self._writer, self._writer_wait)

    def reads(self) -> GalleryReads:
        """The gallery's hot reads: the stdlib driver on a SQLite file, asyncpg on
        PostgreSQL, else (in-memory SQLite) units of work."""
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
        await self.engine.dispose()


def open_storage(url: str, **options: Any) -> SqlStorage:
    """``sqlite:///path.db``, ``postgresql://…`` (drivers are normalised to aiosqlite
    and asyncpg). ``options``: ``busy_timeout_ms`` and ``sqlite_begin`` for SQLite,
    anything else goes to ``create_async_engine`` (``pool_size``, ``connect_args``, …).
    """
    deferred = str(options.get("sqlite_begin", "IMMEDIATE")).upper() == "DEFERRED"
    wait = int(options.get("busy_timeout_ms", 5000)) / 1000
    return SqlStorage(create_engine(url, **options), queue_writers=not deferred, writer_wait=wait)


if TYPE_CHECKING:  # mypy proves the ports are implemented, structurally

    def _conforms(storage: SqlStorage) -> Storage:
        return storage

    def _uow_conforms(uow: SqlUnitOfWork) -> UnitOfWork:
        return uow
