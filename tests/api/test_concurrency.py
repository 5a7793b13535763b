"""Races through the HTTP layer, on SQLite and PostgreSQL: the balance never goes
below zero, every view is counted once, one Idempotency-Key makes one job."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from typing import Any, TypeVar

from rankion_sqlalchemy import SqlStorage

from .conftest import Answer, Api, ClientFactory, relative
from .sqlapi import sql_storage, start_sql

__all__ = ["sql_storage"]  # the fixture, imported to be used here

T = TypeVar("T")
GENERATE = {"prompt": "a lighthouse at dusk", "size": "256x256"}
#: public views in flight at once, per database
VIEWERS = {"sqlite": 4, "postgresql": 32}


async def bounded(limit: int, calls: list[Awaitable[T]]) -> list[T]:
    """Run ``calls`` concurrently, at most ``limit`` at a time."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Awaitable[T]) -> T:
        async with gate:
            return await call

    return await asyncio.gather(*(one(c) for c in calls))


async def _balance(api: Api) -> int:
    return int((await api.get("/v1/credits")).data["balance"])


async def test_50_generates_against_10_charges(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage, credits=50)
    answers = await asyncio.gather(*(api.post("/v1/generate/image", GENERATE) for _ in range(50)))
    statuses = Counter(a.status for a in answers)
    assert statuses == {202: 10, 402: 40}, statuses
    assert await _balance(api) == 0
    ledger = (await api.get("/v1/credits/ledger?per_page=100")).data
    assert sum(1 for e in ledger if e["delta"] < 0) == 10
    images = (await api.get("/v1/images?per_page=100")).json["meta"]["total"]
    assert images == 10  # a refused charge leaves no image behind


async def test_1000_public_views_count_exactly(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    image_id = await api.generate()
    share = (await api.post(f"/v1/images/{image_id}/share")).data
    page = relative(share["public_url"])
    # SQLite has one writer: many at a time queue a view for longer than its 5 s busy
    # timeout on a loaded machine (a 503 then, never a lost or double count).
    viewers = VIEWERS[sql_storage.engine.dialect.name]
    answers: list[Answer] = await bounded(
        viewers, [api.get(page, anonymous=True) for _ in range(1000)]
    )
    assert Counter(a.status for a in answers) == {200: 1000}
    await api.rankion.shares.flush_views()  # what the server does every second
    assert (await api.image(image_id))["share_views"] == 1000
    again = (await api.post(f"/v1/images/{image_id}/share")).data
    assert again["view_count"] == 1000


async def test_20_replays_of_one_key_make_one_job(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    before = await _balance(api)
    key = {"Idempotency-Key": "one-key-twenty-times"}
    answers = await asyncio.gather(
        *(api.post("/v1/generate/image", GENERATE, headers=key) for _ in range(20))
    )
    accepted = [a for a in answers if a.status == 202]
    in_flight = [a for a in answers if a.status == 409]
    assert len(accepted) + len(in_flight) == 20, [a.body for a in answers]
    assert accepted, "the first request must be answered"
    assert all(a.error["code"] == "idempotency_key_in_flight" for a in in_flight)
    assert len({a.body for a in accepted}) == 1  # replays are the first answer, byte for byte
    replay = await api.post("/v1/generate/image", GENERATE, headers=key)
    assert replay.status == 202 and replay.body == accepted[0].body
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await _balance(api) == before - 5
    jobs: dict[str, Any] = (await api.get("/v1/images")).json["meta"]
    assert jobs["total"] == 1
