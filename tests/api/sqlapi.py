"""The HTTP harness of ``conftest.py`` over SQLite or a PostgreSQL schema of its own.

``sql_api`` is parametrised ``sqlite`` / ``postgres`` (the latter skipped unless
``RANKION_TEST_POSTGRES_URL`` is set); the app is the real ``create_app`` over a
``Rankion`` wired like ``wiring.build`` does, with the abuse limits of ``limits``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from attrs import evolve

from rankion_core import Deps, HmacUrlSigner, Rankion
from rankion_core.defaults import SystemClock
from rankion_core.ports import Clock
from rankion_server import wiring
from rankion_server.app import create_app
from rankion_server.config import ServerConfig
from rankion_server.keys import RANKION
from rankion_sqlalchemy import SqlStorage, open_storage

from .conftest import Api, ClientFactory, ShiftClock, config, make_team

POSTGRES_URL = os.environ.get("RANKION_TEST_POSTGRES_URL")


async def _sql(statement: str) -> None:
    assert POSTGRES_URL is not None
    storage = open_storage(POSTGRES_URL)
    try:
        async with storage.engine.begin() as connection:
            await connection.exec_driver_sql(statement)
    finally:
        await storage.close()


async def open_sql(kind: str, tmp_path: Path) -> tuple[SqlStorage, str, str | None]:
    """A migrated storage, the URL it was opened from, and its PostgreSQL schema."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/rankion.db"
        storage = open_storage(url)
        await storage.migrate()
        return storage, url, None
    if POSTGRES_URL is None:
        pytest.skip("RANKION_TEST_POSTGRES_URL is not set")
    schema = f"rankion_http_{uuid.uuid4().hex[:12]}"
    await _sql(f'CREATE SCHEMA "{schema}"')
    storage = open_storage(POSTGRES_URL, connect_args={"server_settings": {"search_path": schema}})
    await storage.migrate()
    return storage, POSTGRES_URL, schema


def build_rankion(storage: SqlStorage, cfg: ServerConfig, clock: Clock | None = None) -> Rankion:
    deps = Deps(
        storage=storage,
        blobs=wiring.open_blobs(cfg.blobs_url),
        provider=wiring.open_provider(cfg.provider, cfg.provider_options),
        codec=wiring.open_codec(cfg.codec),
        signer=HmacUrlSigner(cfg.secret, cfg.base_url),
        max_active_jobs=cfg.max_active_jobs,
        max_webhooks=cfg.max_webhooks,
        max_projects=cfg.max_projects,
        max_calendar_events=cfg.max_calendar_events,
        max_chat_sessions=cfg.max_chat_sessions,
        max_active_exports=cfg.max_active_exports,
        max_export_bytes=cfg.max_export_bytes,
        max_pending_deliveries=cfg.max_pending_deliveries,
        clock=clock or SystemClock(),
    )
    return Rankion(deps)


async def start_sql(
    aiohttp_client: ClientFactory, storage: SqlStorage, credits: int = 1000, **limits: Any
) -> Api:
    cfg = evolve(config(), **limits)
    clock = ShiftClock()
    app = create_app(cfg, rankion=build_rankion(storage, cfg, clock))
    client = await aiohttp_client(app)
    rankion = app[RANKION]
    a = await make_team(rankion, "acme", credits)
    b = await make_team(rankion, "globex", 1000)
    return Api(client, rankion, clock, a, b)


@asynccontextmanager
async def opened_sql(kind: str, tmp_path: Path) -> AsyncIterator[SqlStorage]:
    """``open_sql``'s storage, closed (and its PostgreSQL schema dropped) at the end."""
    storage, _, schema = await open_sql(kind, tmp_path)
    try:
        yield storage
    finally:
        await storage.close()
        if schema is not None:
            await _sql(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
async def sql_storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStorage]:
    async with opened_sql(request.param, tmp_path) as storage:
        yield storage
