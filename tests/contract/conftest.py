"""Fixtures of the in-repo backends (``backends.py`` says how each is made).

The port contracts themselves are ``rankion_core.testing``'s classes, subclassed once
per backend (``test_storage.py``, ``test_blob_store.py``).
``storage`` is for the tests here that run more than a storage (the job runner under
failure): it is parametrised over ``memory``, ``sqlite``, ``postgres`` and the plug-in
example. ``sql_storage`` is ``sqlite`` and ``postgres``, for tests of the SQL backend
alone (plans, migrations, types).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from rankion_core.ports import Storage
from rankion_server import wiring
from rankion_sqlalchemy import SqlStorage, sqlite_reads
from rankion_sqlalchemy.sqlite_reads import DRIVE, TAG_ORDER, WALK, WORD_ORDER, ListSql, Plan

from .backends import (
    NO_POSTGRES,
    POSTGRES_URL,
    SQL_BACKENDS,
    MemoryBackend,
    migrate,
    postgres_options,
    run_aside,
    run_sql,
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating per test is slower)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    run_aside(migrate(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="module")
def postgres_schema() -> Iterator[str]:
    """A freshly migrated schema for this test module, dropped afterwards."""
    if POSTGRES_URL is None:
        pytest.skip(NO_POSTGRES)
    schema = f"rankion_test_{uuid.uuid4().hex[:12]}"
    run_aside(run_sql(f'CREATE SCHEMA "{schema}"'))
    try:
        run_aside(migrate(POSTGRES_URL, **postgres_options(schema)))
        yield schema
    finally:
        run_aside(run_sql(f'DROP SCHEMA "{schema}" CASCADE'))


async def make_sql_storage(kind: str, request: pytest.FixtureRequest) -> SqlStorage:
    backend = SQL_BACKENDS[kind]()
    backend.request = request
    return await backend.make_sql_storage()


@pytest.fixture(params=["memory", "sqlite", "postgres", "plugin"])
async def storage(request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
    if request.param == "memory":
        yield await MemoryBackend().make_storage()
        return
    if request.param == "plugin":  # found by URL scheme like any backend
        request.getfixturevalue("example_plugin")
        yield wiring.open_storage("audited://contract")
        return
    sql = await make_sql_storage(request.param, request)
    try:
        yield sql
    finally:
        await sql.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def sql_storage(request: pytest.FixtureRequest) -> AsyncIterator[SqlStorage]:
    sql = await make_sql_storage(request.param, request)
    try:
        yield sql
    finally:
        await sql.close()


@pytest.fixture(params=["estimated", WALK, DRIVE, TAG_ORDER, WORD_ORDER])
def read_plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """SQLite's read plans as estimated, or one kind forced wherever it applies
    (driving from the last match filter, walking the last tag in order, walking the
    stored words of the last query word in order)."""
    how = str(request.param)
    estimated = sqlite_reads._plan

    def forced(sql: ListSql, estimates: dict[str, float], *args: Any, **kwargs: Any) -> Plan:
        if how == WALK or not estimates:
            return Plan()
        if how == DRIVE:
            return Plan(DRIVE, list(estimates)[-1])
        if how == TAG_ORDER and sql.tag_ordered:
            return Plan(TAG_ORDER, sql.tags[-1])
        if how == WORD_ORDER and sql.word_ordered and sql.stored:
            return Plan(WORD_ORDER, list(sql.stored)[-1])
        return estimated(sql, estimates, *args, **kwargs)

    if how != "estimated":
        monkeypatch.setattr(sqlite_reads, "_plan", forced)
    return how
