"""Per-team caps of a shared server: webhooks per team (422), exports queued or
running per team (429 + Retry-After), bytes of export ZIPs kept per team (429 until
the first is deleted) and webhook deliveries waiting per team (past it an event's
deliveries are dropped and logged); each off with 0, each counted per team."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from attrs import evolve

from rankion_server.config import ServerConfig
from rankion_sqlalchemy import SqlStorage

from .conftest import Api, ClientFactory, config, start
from .sqlapi import sql_storage, start_sql

__all__ = ["sql_storage"]

HOOK = {"url": "https://hooks.example.com/rankion", "events": ["image.ready"]}


async def capped(aiohttp_client: ClientFactory, **limits: int) -> Api:
    return await start(aiohttp_client, evolve(config(), **limits))


async def test_the_defaults_are_20_webhooks_3_exports_and_1000_deliveries() -> None:
    cfg = config()
    assert (cfg.max_webhooks, cfg.max_active_exports, cfg.max_pending_deliveries) == (20, 3, 1000)
    assert cfg.max_export_bytes == 5 * 2**30


CHANGED = {"url": "https://hooks.example.com/rankion", "events": ["calendar.event.changed"]}


async def _deliveries(api: Api, hook: int, **kw: Any) -> list[str]:
    rows = (await api.get(f"/v1/webhooks/{hook}/deliveries?per_page=100", **kw)).data
    return [row["status"] for row in rows]


async def test_deliveries_past_the_teams_cap_are_dropped_and_logged(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage, caplog: pytest.LogCaptureFixture
) -> None:
    api = await start_sql(aiohttp_client, sql_storage, max_pending_deliveries=5)
    hooks = [(await api.post("/v1/webhooks", CHANGED)).data["id"] for _ in range(2)]
    theirs = (await api.post("/v1/webhooks", CHANGED, team=api.b)).data["id"]
    project, other = await api.project(), await api.project(team=api.b)
    idea = {"title": "flood", "status": "idea"}
    event = (await api.post(f"/v1/projects/{project}/calendar", idea)).data["id"]
    with caplog.at_level(logging.WARNING, logger="rankion.jobs"):
        for n in range(3):  # 2 deliveries each: 2 waiting, 4, then 1 fits, then none
            answer = await api.call("PUT", f"/v1/calendar/{event}", {"title": f"flood {n}"})
            assert answer.status == 200, answer.body  # the change always goes through
    # what fits is queued, the first webhook first; nothing is stored past the cap
    assert [len(await _deliveries(api, hook)) for hook in hooks] == [3, 2]
    dropped = [r.getMessage() for r in caplog.records if "deliveries_dropped" in r.getMessage()]
    assert len(dropped) == 2, dropped
    assert "deliveries=1 waiting=4 limit=5" in dropped[0]
    assert "deliveries=2 waiting=5 limit=5" in dropped[1]
    made = await api.post(f"/v1/projects/{other}/calendar", idea, team=api.b)
    assert made.status == 201  # the other team's deliveries are its own
    assert await _deliveries(api, theirs, team=api.b) == ["pending"]


async def test_the_delivery_cap_holds_when_a_team_writes_at_once(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    """The waiting deliveries are counted under the team's row lock: 30 changes at once
    queue exactly the cap, on PostgreSQL's concurrent transactions too."""
    api = await start_sql(aiohttp_client, sql_storage, max_pending_deliveries=5)
    hook = (await api.post("/v1/webhooks", CHANGED)).data["id"]
    project = await api.project()
    idea = {"title": "at once", "status": "idea"}
    made = await asyncio.gather(
        *(api.post(f"/v1/projects/{project}/calendar", idea) for _ in range(30))
    )
    assert {a.status for a in made} == {201}
    assert await _deliveries(api, hook) == ["pending"] * 5


async def test_zero_turns_the_delivery_cap_off(aiohttp_client: ClientFactory) -> None:
    api = await capped(aiohttp_client, max_pending_deliveries=0)
    hook = (await api.post("/v1/webhooks", CHANGED)).data["id"]
    project = await api.project()
    idea = {"title": "many", "status": "idea"}
    for _ in range(12):
        assert (await api.post(f"/v1/projects/{project}/calendar", idea)).status == 201
    assert await _deliveries(api, hook) == ["pending"] * 12


async def test_a_team_past_20_webhooks_is_422_limit_exceeded(
    aiohttp_client: ClientFactory,
) -> None:
    api = await capped(aiohttp_client)
    made = [await api.post("/v1/webhooks", HOOK) for _ in range(20)]
    assert {a.status for a in made} == {201}
    refused = await api.post("/v1/webhooks", HOOK)
    assert refused.status == 422
    assert refused.error["code"] == "limit_exceeded"
    assert "20" in refused.error["message"]
    assert (await api.get("/v1/webhooks")).json["meta"]["total"] == 20
    assert (await api.post("/v1/webhooks", HOOK, team=api.b)).status == 201  # per team
    gone = await api.call("DELETE", f"/v1/webhooks/{made[0].data['id']}")
    assert gone.status == 204
    assert (await api.post("/v1/webhooks", HOOK)).status == 201  # room again


async def test_a_team_past_3_active_exports_is_429_with_retry_after(
    aiohttp_client: ClientFactory,
) -> None:
    api = await capped(aiohttp_client)
    ids = {"ids": [await api.generate()]}
    for _ in range(3):
        assert (await api.post("/v1/images/bulk/export", ids)).status == 202
    refused = await api.post("/v1/images/bulk/export", ids)
    assert refused.status == 429
    assert refused.error["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    other = {"ids": [await api.generate(team=api.b)]}
    assert (await api.post("/v1/images/bulk/export", other, team=api.b)).status == 202
    await api.run_jobs()  # the exports finish: room again
    assert (await api.post("/v1/images/bulk/export", ids)).status == 202


async def test_a_team_whose_kept_zips_hold_the_byte_cap_waits_for_the_first_to_go(
    aiohttp_client: ClientFactory,
) -> None:
    api = await capped(aiohttp_client, max_export_bytes=1)
    ids = {"ids": [await api.generate()]}
    assert (await api.post("/v1/images/bulk/export", ids)).status == 202
    await api.run_jobs()  # one ZIP kept for 24 h: the cap of 1 byte is reached
    refused = await api.post("/v1/images/bulk/export", ids)
    assert (refused.status, refused.error["code"]) == (429, "rate_limited")
    assert "limit 1" in refused.error["message"]
    assert 23 * 3600 < int(refused.headers["Retry-After"]) <= 24 * 3600
    other = {"ids": [await api.generate(team=api.b)]}
    assert (await api.post("/v1/images/bulk/export", other, team=api.b)).status == 202
    api.clock.advance(timedelta(hours=24))  # the ZIP has expired: room again
    assert (await api.post("/v1/images/bulk/export", ids)).status == 202


async def test_zero_turns_the_caps_off(aiohttp_client: ClientFactory) -> None:
    api = await capped(aiohttp_client, max_webhooks=0, max_active_exports=0, max_export_bytes=0)
    assert {(await api.post("/v1/webhooks", HOOK)).status for _ in range(25)} == {201}
    ids = {"ids": [await api.generate()]}
    answers = [await api.post("/v1/images/bulk/export", ids) for _ in range(6)]
    assert {a.status for a in answers} == {202}
    await api.run_jobs()  # six ZIPs kept
    assert (await api.post("/v1/images/bulk/export", ids)).status == 202


async def test_the_caps_hold_under_concurrency(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage, max_webhooks=5, max_active_exports=2)
    hooks = await asyncio.gather(*(api.post("/v1/webhooks", HOOK) for _ in range(12)))
    assert Counter(a.status for a in hooks) == {201: 5, 422: 7}
    ids = {"ids": [await api.generate()]}
    exports = await asyncio.gather(*(api.post("/v1/images/bulk/export", ids) for _ in range(8)))
    assert Counter(a.status for a in exports) == {202: 2, 429: 6}


def test_the_caps_come_from_the_environment() -> None:
    env = {
        "RANKION_MAX_WEBHOOKS": "0",
        "RANKION_MAX_ACTIVE_EXPORTS": "9",
        "RANKION_MAX_PENDING_DELIVERIES": "0",
        "RANKION_MAX_EXPORT_BYTES": "1024",
        "RANKION_WEBHOOK_TIMEOUT_SECONDS": "2.5",
        "RANKION_WEBHOOK_WORKERS": "7",
    }
    cfg = ServerConfig.from_env(env, database="memory://", blobs="memory://x")
    assert (cfg.max_webhooks, cfg.max_active_exports, cfg.max_pending_deliveries) == (0, 9, 0)
    assert cfg.max_export_bytes == 1024
    assert (cfg.webhook_timeout_seconds, cfg.webhook_workers, cfg.export_workers) == (2.5, 7, 1)
