"""The scenario of the fairness tests and benchmark: an attacker team with a backlog of
queued generations and webhooks to a receiver that never answers, fired by a calendar
change, while a victim team generates one image."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from attrs import define

from tests.e2e.support import Api, expect, image_ready, poll

#: the settings a server under attack runs with: the attacker's backlog and hook count
#: are what is tested, so the abuse limits that would refuse them are off
ATTACK_ENV = {
    "RANKION_MAX_ACTIVE_JOBS": "0",
    "RANKION_CHARGE_RATE": "0",
    "RANKION_MAX_WEBHOOKS": "0",
    "RANKION_WEBHOOKS_ALLOW_PRIVATE": "1",
}


@asynccontextmanager
async def silent_receiver() -> AsyncIterator[str]:
    """A local HTTP address that accepts connections, reads, and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        server.close()  # no new connection; one accepted just now reaches ``hang`` first
        for _ in range(2):
            await asyncio.sleep(0)
        for writer in held:
            writer.close()
        for writer in held:  # closed for good before the loop ends: none is left to the
            with contextlib.suppress(OSError):  # garbage collector (an unclosed socket)
                await writer.wait_closed()
        await server.wait_closed()


async def generation_seconds(api: Api, prompt: str = "a quiet harbour") -> float:
    """Seconds from the POST of one generation until its image is ``ready``."""
    started = time.perf_counter()
    body = {"prompt": prompt, "size": "256x256"}
    queued = expect(await api.post("/v1/generate/image", body), 202).data
    await poll(lambda: image_ready(api, queued["image_id"]), within=120, every=0.05)
    return time.perf_counter() - started


async def idle_seconds(api: Api, runs: int = 3) -> float:
    return statistics.median([await generation_seconds(api) for _ in range(runs)])


@define
class Attack:
    last_job_id: int
    deliveries: int


async def hook_the_calendar(attacker: Api, url: str, hooks: int) -> None:
    body = {"url": url, "events": ["calendar.event.changed"]}
    for _ in range(hooks):
        expect(await attacker.post("/v1/webhooks", body), 201)


async def queue_backlog(attacker: Api, jobs: int, *, parallel: int = 8) -> int:
    """``jobs`` generations queued by the attacker; the id of the last one."""
    gate = asyncio.Semaphore(parallel)

    async def one(n: int) -> int:
        async with gate:
            body: dict[str, Any] = {"prompt": f"flood {n}", "size": "256x256"}
            return int(expect(await attacker.post("/v1/generate/image", body), 202).data["job_id"])

    return max(await asyncio.gather(*(one(n) for n in range(jobs))))


async def fire_hooks(attacker: Api, project_id: int) -> None:
    body = {"title": "a change that rings every bell", "status": "idea"}
    expect(await attacker.post(f"/v1/projects/{project_id}/calendar", body), 201)


async def still_queued(api: Api, job_id: int) -> bool:
    return bool(expect(await api.get(f"/v1/jobs/{job_id}"), 200).data["status"] == "queued")
