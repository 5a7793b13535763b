"""The storage contract runs against every backend with the same assertions.

``storage`` is parametrised over ``memory``, ``sqlite`` (a migrated file per test) and
``postgres`` (when ``RANKION_TEST_POSTGRES_URL`` is set: one freshly migrated schema
per test module, emptied before each test; schemas are uniquely named, so parallel
runs never collide). ``sql_storage`` is the same without ``memory``, for tests of the
SQL backend alone (plans, migrations, types).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from rankion_core.ports import Storage
from rankion_memory import MemoryStorage
from rankion_server import wiring
from rankion_sqlalchemy import SqlStorage, open_storage
from rankion_sqlalchemy.tables import metadata
from tests.plugin_example.install import installed

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


async def _run_sql(sql: str) -> None:
    assert POSTGRES_URL is not None
    storage = open_storage(POSTGRES_URL)
    try:
        async with storage.engine.begin() as connection:
            await connection.exec_driver_sql(sql)
    finally:
        await storage.close()


async def _migrate(url: str, **options: Any) -> None:
    storage = open_storage(url, **options)
    try:
        await storage.migrate()
    finally:
        await storage.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating per test is slower)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    run_aside(_migrate(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="module")
def postgres_schema() -> Iterator[str]:
    """A freshly migrated schema for this test module, dropped afterwards."""
    if POSTGRES_URL is None:
        pytest.skip(NO_POSTGRES)
    schema = f"rankion_test_{uuid.uuid4().hex[:12]}"
    run_aside(_run_sql(f'CREATE SCHEMA "{schema}"'))
    try:
        run_aside(_migrate(POSTGRES_URL, **postgres_options(schema)))
        yield schema
    finally:
        run_aside(_run_sql(f'DROP SCHEMA "{schema}" CASCADE'))


async def empty_postgres(storage: SqlStorage) -> None:
    """DELETE, children first: much faster than TRUNCATE on tables this small."""
    async with storage.engine.begin() as connection:
        for table in reversed(metadata.sorted_tables):
            await connection.execute(table.delete())


async def make_sql_storage(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> SqlStorage:
    if kind == "sqlite":
        path = tmp_path / "rankion.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return open_storage(f"sqlite:///{path}")
    if POSTGRES_URL is None:
        pytest.skip(NO_POSTGRES)
    schema = request.getfixturevalue("postgres_schema")
    storage = open_storage(POSTGRES_URL, **postgres_options(schema))
    await empty_postgres(storage)
    return storage


@pytest.fixture(scope="session")
def example_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The third-party example backend (tests/plugin_example), registered through a
    real entry point for the session (docs/backends.md)."""
    with installed(tmp_path_factory.mktemp("plugin-example")):
        yield


@pytest.fixture(params=["memory", "sqlite", "postgres", "plugin"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
        return
    if request.param == "plugin":  # found by URL scheme like any backend
        request.getfixturevalue("example_plugin")
        yield wiring.open_storage("audited://contract")
        return
    sql = await make_sql_storage(request.param, request, tmp_path)
    try:
        yield sql
    finally:
        await sql.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def sql_storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStorage]:
    sql = await make_sql_storage(request.param, request, tmp_path)
    try:
        yield sql
    finally:
        await sql.close()
