"""The job lifecycle in a real ``rankion serve``'s log: queued, started, retried,
succeeded, failed and refunded, with job, kind, team and image — for generations,
exports and webhook deliveries alike, in the JSON format and the plain one."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from .support import (
    Api,
    Process,
    Server,
    Tenant,
    bootstrap,
    expect,
    free_port,
    generate,
    poll,
    serve,
)

pytestmark = pytest.mark.slow

Steps = list[dict[str, Any]]


@pytest.fixture(scope="module")
def json_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Process, Tenant]]:
    data_dir = tmp_path_factory.mktemp("rankion-job-logs")
    env = {
        "RANKION_LOG_FORMAT": "json",
        "RANKION_WEBHOOKS_ALLOW_PRIVATE": "1",  # the receiver below is on 127.0.0.1
        "RANKION_WEBHOOK_BACKOFF_SECONDS": "0.2",
    }
    tenant = bootstrap(data_dir, team="logs")
    process = serve("--workers", "2", data_dir=data_dir, name="serve-json", env=env)
    yield process, tenant
    process.stop()


@pytest.fixture
async def logs_api(json_server: tuple[Process, Tenant]) -> AsyncIterator[Api]:
    process, tenant = json_server
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield Api(session, process.base_url, tenant.token)


def job_lines(process: Process) -> Steps:
    return [
        json.loads(raw)
        for raw in process.log().splitlines()
        if raw.startswith("{") and '"logger": "rankion.jobs"' in raw
    ]


async def until_logged(process: Process, job_id: int, event: str) -> Steps:
    """The job's lines once ``event`` is among them."""

    async def seen() -> Steps | None:
        steps = [line for line in job_lines(process) if line.get("job") == job_id]
        return steps if any(s["event"] == event for s in steps) else None

    return await poll(seen, within=60)


async def queue(api: Api, prompt: str) -> dict[str, Any]:
    body = {"prompt": prompt, "size": "256x256"}
    return dict(expect(await api.post("/v1/generate/image", body), 202).data)


async def test_a_generation_is_told_step_by_step(
    json_server: tuple[Process, Tenant], logs_api: Api
) -> None:
    process, tenant = json_server
    queued = await queue(logs_api, "a lighthouse at dusk")
    steps = await until_logged(process, queued["job_id"], "job_succeeded")
    assert [s["event"] for s in steps] == ["job_queued", "job_started", "job_succeeded"]
    for step in steps:
        assert step["level"] == "INFO" and step["logger"] == "rankion.jobs"
        assert step["kind"] == "generate" and step["image"] == queued["image_id"]
        assert step["team"] == tenant.team_id
    assert steps[1]["attempt"] == "1/3"
    assert steps[2]["seconds"] >= 0


async def test_a_failing_generation_is_retried_failed_and_refunded(
    json_server: tuple[Process, Tenant], logs_api: Api
) -> None:
    process, _ = json_server
    queued = await queue(logs_api, "a storm [flaky]")  # the provider fails every time
    steps = await until_logged(process, queued["job_id"], "job_refunded")
    assert [s["event"] for s in steps] == [
        "job_queued",
        *["job_started", "job_retried"] * 2,
        "job_started",
        "job_failed",
        "job_refunded",
    ]
    retried = [s for s in steps if s["event"] == "job_retried"]
    assert [s["attempt"] for s in retried] == ["1/3", "2/3"]
    assert all("flaky" in s["reason"] and s["retry_in"] > 0 for s in retried)
    failed = steps[-2]
    assert failed["attempt"] == "3/3" and "flaky" in failed["reason"]
    assert steps[-1]["credits"] == 5 and steps[-1]["image"] == queued["image_id"]


async def test_an_export_is_told(json_server: tuple[Process, Tenant], logs_api: Api) -> None:
    process, _ = json_server
    queued = await queue(logs_api, "a map of the coast")
    await until_logged(process, queued["job_id"], "job_succeeded")
    export = expect(
        await logs_api.post("/v1/images/bulk/export", {"ids": [queued["image_id"]]}), 202
    )
    steps = await until_logged(process, export.data["job_id"], "job_succeeded")
    assert [s["event"] for s in steps] == ["job_queued", "job_started", "job_succeeded"]
    assert {s["kind"] for s in steps} == {"export"}


async def test_a_webhook_delivery_is_told(
    json_server: tuple[Process, Tenant], logs_api: Api
) -> None:
    process, _ = json_server
    closed = f"http://127.0.0.1:{free_port()}/hook"  # nobody listens: every try fails
    body = {"url": closed, "events": ["image.ready"]}
    hook = expect(await logs_api.post("/v1/webhooks", body), 201).data
    try:
        await queue(logs_api, "a quiet harbour")

        async def retried() -> Steps | None:
            lines = [
                s
                for s in job_lines(process)
                if s.get("kind") == "webhook" and s.get("webhook") == hook["id"]
            ]
            return lines if any(s["event"] == "job_retried" for s in lines) else None

        lines = await poll(retried, within=60)
        assert [s["event"] for s in lines[:3]] == ["job_queued", "job_started", "job_retried"]
        assert lines[0]["webhook_event"] == "image.ready"
        assert lines[2]["retry_in"] > 0 and lines[2]["reason"]
    finally:
        expect(await logs_api.delete(f"/v1/webhooks/{hook['id']}"), 204)


async def test_the_plain_format_says_the_same(server: Server, api: Api) -> None:
    queued = await queue(api, "a plain line")

    async def logged() -> str | None:
        lines = [
            line
            for line in server.process.log().splitlines()
            if f"event=job_succeeded job={queued['job_id']} " in line
        ]
        return lines[0] if lines else None

    line = await poll(logged, within=60)
    assert "rankion.jobs" in line and "INFO" in line
    assert f"kind=generate team={server.tenant.team_id} image={queued['image_id']}" in line


async def test_access_lines_show_the_path_and_never_a_secret(server: Server, api: Api) -> None:
    """The access log of the real process: the path as requested beside its route, no
    query string, no share or feed token, and ``route=-`` for a path that names nothing."""
    image = (await generate(api, "a logged path"))["id"]
    share = (await api.ok("POST", f"/v1/images/{image}/share", status=201))["data"]["token"]
    project = server.tenant.project_id
    feed = await api.ok("POST", f"/v1/projects/{project}/calendar/feed-token", status=201)
    await api.get("/v1/images?q=secret-search")
    await api.get(f"/v1/images/{image}")
    await api.get("/v1/no/such/thing")
    await api.get(f"/s/{share}")
    await api.get(feed["data"]["url"])

    def line(words: str) -> str:
        found = [raw for raw in server.process.log().splitlines() if words in raw]
        return found[-1] if found else ""

    async def logged() -> bool:
        return bool(line(f"path=/v1/projects/{project}/calendar.ics ")) and bool(line("/s/"))

    await poll(logged, what="the access lines")
    assert "route=- status=404" in line("path=/v1/no/such/thing ")
    assert "route=/s/{token} status=200" in line("path=/s/… ")
    assert "route=/v1/images/{id} status=200" in line(f"path=/v1/images/{image} ")
    assert "route=/v1/images status=200" in line("path=/v1/images ")
    log = server.process.log()
    assert share not in log and feed["data"]["token"] not in log and "secret-search" not in log
