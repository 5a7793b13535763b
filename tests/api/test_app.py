"""The app factory: embedding with a given core, in-process workers, clean shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

from attrs import evolve

from rankion_server import wiring
from rankion_server.app import create_app
from rankion_server.keys import RANKION, WORKERS

from .conftest import ClientFactory, config, make_team


async def test_a_given_core_is_used_as_is_and_left_open(aiohttp_client: ClientFactory) -> None:
    core = await wiring.build(config())
    closed: list[bool] = []

    async def close() -> None:
        closed.append(True)

    core.deps.storage.close = close  # type: ignore[method-assign]
    app = create_app(config(), rankion=core)
    client = await aiohttp_client(app)
    assert app[RANKION] is core
    team = await make_team(core, "embedded", 10)
    answer = await client.get("/v1/credits", headers=team.auth)
    assert (await answer.json())["data"] == {"balance": 10}
    await client.close()
    assert closed == []
    await wiring.close(core)


async def test_workers_run_jobs_in_process(aiohttp_client: ClientFactory) -> None:
    cfg = evolve(config(), workers=1, poll_seconds=0.05, purge_interval_seconds=3600.0)
    app = create_app(cfg)
    client = await aiohttp_client(app)
    assert app[WORKERS] is not None
    team = await make_team(app[RANKION], "busy", 100)
    body: dict[str, Any] = {"prompt": "a busy harbour", "size": "256x256"}
    started = await client.post("/v1/generate/image", json=body, headers=team.auth)
    assert started.status == 202
    location = started.headers["Location"]
    status = None
    for _ in range(200):
        image = await (await client.get(location, headers=team.auth)).json()
        status = image["data"]["processing_status"]
        if status == "ready":
            break
        await asyncio.sleep(0.05)
    assert status == "ready"
    await client.close()


async def test_no_workers_when_configured_off(aiohttp_client: ClientFactory) -> None:
    app = create_app(config())
    await aiohttp_client(app)
    assert app[WORKERS] is None
