"""The PostgreSQL engine's pool: a fixed set of connections, kept under steady load.

With SQLAlchemy's default (5 plus 10 overflow) an overflow connection was closed as it
came back to a pool holding 5 idle ones, and made anew for the next burst: under
concurrent load the process kept connecting, which cost more than the statements.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, text

from rankion_core.errors import Unavailable
from rankion_sqlalchemy import SqlStorage, open_storage
from rankion_sqlalchemy.engine import POOL_SIZE

from .backends import POSTGRES_URL


@pytest.fixture
async def pg(postgres_schema: str) -> AsyncIterator[SqlStorage]:
    assert POSTGRES_URL is not None
    settings = {"search_path": postgres_schema}
    storage = open_storage(POSTGRES_URL, connect_args={"server_settings": settings})
    try:
        yield storage
    finally:
        await storage.close()


def count_connects(storage: SqlStorage) -> list[int]:
    made = [0]

    def connected(*_args: Any) -> None:
        made[0] += 1

    event.listen(storage.engine.sync_engine, "connect", connected)
    return made


async def unit_of_work(storage: SqlStorage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.session.execute(text("SELECT 1"))
        await asyncio.sleep(0.001)  # held a moment, as a request's would be
        await uow.commit()


async def test_steady_load_reuses_the_pools_connections(pg: SqlStorage) -> None:
    made = count_connects(pg)
    for _ in range(20):  # bursts of more units of work than connections, one after another
        await asyncio.gather(*(unit_of_work(pg) for _ in range(3 * POOL_SIZE)))
    assert made[0] <= POOL_SIZE
    assert pg.engine.pool.size() == POOL_SIZE  # type: ignore[attr-defined]


async def test_the_pool_size_passed_wins(postgres_schema: str) -> None:
    assert POSTGRES_URL is not None
    settings = {"search_path": postgres_schema}
    storage = open_storage(POSTGRES_URL, connect_args={"server_settings": settings}, pool_size=2)
    try:
        made = count_connects(storage)
        await asyncio.gather(*(unit_of_work(storage) for _ in range(8)))
        assert made[0] <= 2
    finally:
        await storage.close()


async def test_a_unit_of_work_that_finds_every_connection_busy_is_unavailable(
    postgres_schema: str,
) -> None:
    """A flood that holds every connection makes the next unit of work wait for one,
    for ``pool_timeout`` at most, then answer ``Unavailable`` (a 503), never a 500;
    once a connection is back, units of work run again."""
    assert POSTGRES_URL is not None
    settings = {"search_path": postgres_schema}
    storage = open_storage(
        POSTGRES_URL, connect_args={"server_settings": settings}, pool_size=1, pool_timeout=0.2
    )
    try:
        async with storage.unit_of_work() as holding:
            await holding.session.execute(text("SELECT 1"))
            with pytest.raises(Unavailable):
                await unit_of_work(storage)
        await unit_of_work(storage)
    finally:
        await storage.close()
