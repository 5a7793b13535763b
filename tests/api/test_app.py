"""The app factory: embedding with a given core, in-process workers, clean shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
from attrs import evolve

from rankion_core import Rankion
from rankion_core.defaults import FakeClock
from rankion_server import wiring
from rankion_server.app import create_app
from rankion_server.keys import RANKION, WORKERS

from .conftest import ClientFactory, config, make_team


def attributes(core: Rankion) -> dict[str, Any]:
    """Everything an app could change on ``core``: its attributes, its ``Deps``' fields,
    its services' attributes and its job handlers."""
    seen: dict[str, Any] = {f"rankion.{k}": v for k, v in vars(core).items()}
    seen |= {f"deps.{k}": v for k, v in attrs.asdict(core.deps, recurse=False).items()}
    for name, service in vars(core).items():
        if hasattr(service, "__dict__") and name != "deps":
            seen |= {f"{name}.{k}": v for k, v in vars(service).items()}
    seen |= {f"handler.{kind}": h for kind, h in core.jobs.handlers.items()}
    return seen


def unchanged(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    if before.keys() != after.keys():
        return sorted(before.keys() ^ after.keys())
    return [k for k in before if before[k] is not after[k] and before[k] != after[k]]


async def test_a_given_core_is_served_and_left_open(aiohttp_client: ClientFactory) -> None:
    core = await wiring.build(config())
    closed: list[bool] = []

    async def close() -> None:
        closed.append(True)

    core.deps.storage.close = close  # type: ignore[method-assign]
    app = create_app(config(), rankion=core)
    client = await aiohttp_client(app)
    assert app[RANKION].deps.storage is core.deps.storage
    team = await make_team(core, "embedded", 10)
    answer = await client.get("/v1/credits", headers=team.auth)
    assert (await answer.json())["data"] == {"balance": 10}
    await client.close()
    assert closed == []
    await wiring.close(core)


async def test_an_embedding_apps_core_is_never_changed(aiohttp_client: ClientFactory) -> None:
    """Workers, metrics and a clock of the app's own around a caller's ``Rankion``: the
    app runs jobs (woken at once: the poll interval is far longer than the test) and
    stops, and not one attribute of the caller's object has changed."""
    core = await wiring.build(config())
    before = attributes(core)
    cfg = evolve(config(), workers=1, poll_seconds=3600.0, purge_interval_seconds=3600.0)
    app = create_app(cfg, rankion=core, clock=FakeClock())
    client = await aiohttp_client(app)
    served = app[RANKION]
    assert served is not core
    assert type(served.deps.provider).__name__ == "ProviderSlots"
    assert type(core.deps.provider).__name__ == "ProceduralProvider"
    team = await make_team(core, "embedded", 100)
    body: dict[str, Any] = {"prompt": "a quiet harbour", "size": "256x256"}
    started = await client.post("/v1/generate/image", json=body, headers=team.auth)
    assert started.status == 202
    status = None
    for _ in range(200):
        image = await (await client.get(started.headers["Location"], headers=team.auth)).json()
        status = image["data"]["processing_status"]
        if status == "ready":
            break
        await asyncio.sleep(0.05)
    assert status == "ready"
    await client.close()
    assert unchanged(before, attributes(core)) == []
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
