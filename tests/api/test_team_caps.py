"""Per-team caps of a shared server: webhooks per team (422) and exports queued or
running per team (429 + Retry-After); each off with 0, each counted per team."""

from __future__ import annotations

import asyncio
from collections import Counter

from attrs import evolve

from rankion_server.config import ServerConfig
from rankion_sqlalchemy import SqlStorage

from .conftest import Api, ClientFactory, config, start
from .sqlapi import sql_storage, start_sql

__all__ = ["sql_storage"]

HOOK = {"url": "https://hooks.example.com/rankion", "events": ["image.ready"]}


async def capped(aiohttp_client: ClientFactory, **limits: int) -> Api:
    return await start(aiohttp_client, evolve(config(), **limits))


async def test_the_defaults_are_20_webhooks_and_3_exports() -> None:
    cfg = config()
    assert (cfg.max_webhooks, cfg.max_active_exports) == (20, 3)


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


async def test_zero_turns_the_caps_off(aiohttp_client: ClientFactory) -> None:
    api = await capped(aiohttp_client, max_webhooks=0, max_active_exports=0)
    assert {(await api.post("/v1/webhooks", HOOK)).status for _ in range(25)} == {201}
    ids = {"ids": [await api.generate()]}
    answers = [await api.post("/v1/images/bulk/export", ids) for _ in range(6)]
    assert {a.status for a in answers} == {202}


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
        "RANKION_WEBHOOK_TIMEOUT_SECONDS": "2.5",
        "RANKION_WEBHOOK_WORKERS": "7",
    }
    cfg = ServerConfig.from_env(env, database="memory://", blobs="memory://x")
    assert (cfg.max_webhooks, cfg.max_active_exports) == (0, 9)
    assert (cfg.webhook_timeout_seconds, cfg.webhook_workers, cfg.export_workers) == (2.5, 7, 1)
