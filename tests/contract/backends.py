"""How the contract suite gets each in-repo storage: the ``make_storage`` hooks of
``rankion_core.testing`` (docs/backends.md), one class per backend.

``memory``; ``sqlite``: a copy of one migrated file per test; ``postgres`` (when
``RANKION_TEST_POSTGRES_URL`` is set): one freshly migrated schema per test module,
emptied before each test. The SQL backends also check, after the writes of the read
contract, that their stored words are exactly each image's words.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import pytest
from sqlalchemy import select

from rankion_core.ports import Storage
from rankion_memory import MemoryStorage
from rankion_sqlalchemy import SqlStorage, open_storage
from rankion_sqlalchemy.tables import image_words, images, metadata

POSTGRES_URL = os.environ.get("RANKION_TEST_POSTGRES_URL")
NO_POSTGRES = (
    "RANKION_TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)"
)


def postgres_options(schema: str) -> dict[str, Any]:
    """Every connection of the engine works inside ``schema``."""
    return {"connect_args": {"server_settings": {"search_path": schema}}}


def run_aside(coro: Coroutine[Any, Any, None]) -> None:
    """Run set-up code on a loop of its own: module and session fixtures are first
    requested from inside a test's running loop, where ``asyncio.run`` is refused."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


async def run_sql(sql: str) -> None:
    assert POSTGRES_URL is not None
    storage = open_storage(POSTGRES_URL)
    try:
        async with storage.engine.begin() as connection:
            await connection.exec_driver_sql(sql)
    finally:
        await storage.close()


async def migrate(url: str, **options: Any) -> None:
    storage = open_storage(url, **options)
    try:
        await storage.migrate()
    finally:
        await storage.close()


async def empty_postgres(storage: SqlStorage) -> None:
    """DELETE, children first: much faster than TRUNCATE on tables this small."""
    async with storage.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())


async def words_follow_images(storage: SqlStorage) -> None:
    """``image_words`` holds exactly each image's stored words, with its team, date
    and liveness (whatever dialect's triggers keep it)."""
    c = images.c
    async with storage.engine.connect() as connection:
        rows = await connection.execute(
            select(c.id, c.team_id, c.created_at, c.deleted_at, c.search_text)
        )
        expected = {
            (r.id, word, r.team_id, r.created_at, r.deleted_at is None)
            for r in rows
            for word in r.search_text.split(" ")
            if word
        }
        found = {
            (r.image_id, r.word, r.team_id, r.created_at, bool(r.live))
            for r in await connection.execute(select(image_words))
        }
    assert found == expected


class MemoryBackend:
    name: ClassVar[str] = "memory"
    request: pytest.FixtureRequest

    async def make_storage(self) -> Storage:
        return MemoryStorage()


class SqlBackend:
    name: ClassVar[str]
    request: pytest.FixtureRequest

    async def make_storage(self) -> Storage:
        return await self.make_sql_storage()

    async def make_sql_storage(self) -> SqlStorage:
        raise NotImplementedError

    async def check_consistency(self, storage: Storage) -> None:
        assert isinstance(storage, SqlStorage)
        await words_follow_images(storage)


class SqliteBackend(SqlBackend):
    name = "sqlite"

    async def make_sql_storage(self) -> SqlStorage:
        path = self.request.getfixturevalue("tmp_path") / "rankion.db"
        shutil.copyfile(self.request.getfixturevalue("sqlite_template"), path)
        return open_storage(f"sqlite:///{path}")


class PostgresBackend(SqlBackend):
    name = "postgres"

    async def make_sql_storage(self) -> SqlStorage:
        if POSTGRES_URL is None:
            pytest.skip(NO_POSTGRES)
        schema = self.request.getfixturevalue("postgres_schema")
        storage = open_storage(POSTGRES_URL, **postgres_options(schema))
        await empty_postgres(storage)
        return storage


SQL_BACKENDS: dict[str, type[SqlBackend]] = {b.name: b for b in (SqliteBackend, PostgresBackend)}
