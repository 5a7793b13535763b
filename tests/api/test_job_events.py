"""``GET /v1/jobs/{id}/events``: Server-Sent Events until the job ends."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import attrs
import pytest

from .conftest import Api, ClientFactory, config, start


@pytest.fixture
async def fast(aiohttp_client: ClientFactory) -> Api:
    cfg = attrs.evolve(
        config(), events_poll_seconds=0.02, events_keepalive_seconds=0.05, events_timeout_seconds=1
    )
    return await start(aiohttp_client, cfg)


def parse(raw: str) -> list[tuple[str, Any]]:
    """``(event, data)`` per frame; comments come back as ``(":", text)``."""
    frames: list[tuple[str, Any]] = []
    for block in raw.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if block.startswith(":"):
            frames.append((":", block[1:].strip()))
        else:
            frames.append((fields["event"], json.loads(fields["data"])))
    return frames


async def follow(api: Api, job_id: int) -> tuple[int, str, str]:
    async with api.client.get(f"/v1/jobs/{job_id}/events", headers=api.a.auth) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), (await resp.read()).decode()


async def test_a_job_is_followed_until_it_ends(fast: Api) -> None:
    answer = await fast.post("/v1/generate/image", {"prompt": "a kite", "size": "256x256"})
    job_id = answer.data["job_id"]
    stream = asyncio.create_task(follow(fast, job_id))
    await asyncio.sleep(0.2)  # queued, and a keep-alive or two
    await fast.run_jobs()
    status, content_type, raw = await asyncio.wait_for(stream, 5)
    assert status == 200 and content_type.startswith("text/event-stream")
    frames = parse(raw)
    states = [data["status"] for event, data in frames if event == "job"]
    assert states[0] == "queued" and states[-1] == "succeeded"
    assert (":", "keep-alive") in frames
    last = frames[-1][1]
    assert last["result"] == {"image_id": answer.data["image_id"]} and last["progress"] is None


async def test_an_export_reports_its_progress(fast: Api) -> None:
    image_id = await fast.generate()
    started = await fast.post("/v1/images/bulk/export", {"ids": [image_id, 999]})
    await fast.run_jobs()
    status, _, raw = await follow(fast, started.data["job_id"])
    (event, data), *_ = parse(raw)
    assert status == 200 and event == "job"
    assert data["status"] == "succeeded" and data["progress"] == {"done": 2, "total": 2}


async def test_a_stream_times_out(fast: Api) -> None:
    answer = await fast.post("/v1/generate/image", {"prompt": "a kite", "size": "256x256"})
    _, _, raw = await follow(fast, answer.data["job_id"])
    assert parse(raw)[-1][0] == "timeout"


async def test_another_teams_job_is_the_same_404(fast: Api) -> None:
    answer = await fast.post("/v1/generate/image", {"prompt": "a kite", "size": "256x256"})
    theirs = await fast.get(f"/v1/jobs/{answer.data['job_id']}/events", team=fast.b)
    missing = await fast.get("/v1/jobs/999999/events")
    assert theirs.status == missing.status == 404 and theirs.body == missing.body
    assert (await fast.get("/v1/jobs/1/events", anonymous=True)).status == 401


def _procedural(provider: Any) -> Any:
    """The procedural provider under the wrappers the server put around it."""
    while hasattr(provider, "inner"):
        provider = provider.inner
    return provider


async def test_previews_come_over_real_http_before_the_ready_event(aiohttp_client: Any) -> None:
    """A real TCP connection: each preview arrives as ``event: preview`` while the job
    runs, opens without the token, is not the final image, and is gone once the
    ``succeeded`` event has come."""
    cfg = attrs.evolve(config(), events_poll_seconds=0.02, events_timeout_seconds=30)
    api = await start(aiohttp_client, cfg)
    _procedural(api.rankion.deps.provider).delay = 1.5  # 0.5 s before each frame
    body = {"prompt": "a kite", "size": "256x256", "partial_images": 2}
    answer = await api.post("/v1/generate/image", body)
    events: list[tuple[str, Any]] = []
    fetched: dict[int, bytes] = {}
    worker = asyncio.create_task(api.run_jobs())
    url = f"/v1/jobs/{answer.data['job_id']}/events"
    async with api.client.get(url, headers=api.a.auth) as resp:
        assert resp.status == 200
        event = ""
        async for raw in resp.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: "):
                data = json.loads(line[len("data: ") :])
                events.append((event, data))
                if event == "preview":  # while the job still runs
                    got = await api.fetch(data["url"])
                    assert got.status == 200
                    fetched[data["index"]] = got.body
    await asyncio.wait_for(worker, 30)
    kinds = [e for e, _ in events]
    assert kinds.count("preview") == 2
    assert kinds[-1] == "job" and events[-1][1]["status"] == "succeeded"
    assert kinds.index("preview") < len(kinds) - 1
    assert sorted(fetched) == [0, 1]
    image = await api.image(answer.data["image_id"])
    final = (await api.fetch(image["url"])).body
    assert all(final != preview for preview in fetched.values())
    for _, data in (e for e in events if e[0] == "preview"):
        assert (await api.fetch(data["url"])).status == 404, "previews end with the job"


async def test_the_first_frame_is_the_state_even_when_previews_are_waiting(
    aiohttp_client: Any,
) -> None:
    """A stream opened after the worker listed previews starts with the job's current
    state (``running``), then sends those previews, and ends with the final state."""
    cfg = attrs.evolve(config(), events_poll_seconds=0.02, events_timeout_seconds=30)
    api = await start(aiohttp_client, cfg)
    _procedural(api.rankion.deps.provider).delay = 2.0  # 0.5 s before each of 4 frames
    body = {"prompt": "order check", "size": "256x256", "partial_images": 3}
    answer = await api.post("/v1/generate/image", body)
    job_id = answer.data["job_id"]
    worker = asyncio.create_task(api.run_jobs())
    storage = api.rankion.deps.storage
    for _ in range(200):  # until the running job lists a preview
        async with storage.unit_of_work() as uow:
            job = await uow.jobs.get(api.a.id, job_id)
        if job is not None and job.payload.get("previews"):
            break
        await asyncio.sleep(0.02)
    else:
        pytest.fail("the job listed no preview")
    status, _, raw = await follow(api, job_id)
    await asyncio.wait_for(worker, 30)
    frames = [(event, data) for event, data in parse(raw) if event != ":"]
    assert status == 200
    assert frames[0][0] == "job" and frames[0][1]["status"] == "running"
    assert [event for event, _ in frames].count("preview") == 3
    assert frames[-1][0] == "job" and frames[-1][1]["status"] == "succeeded"
