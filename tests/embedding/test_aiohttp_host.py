"""``examples/aiohttp_host.py`` as a real process on a free port: a host aiohttp app
with the API mounted under ``/rankion`` on SQLite and a blob folder, its workers
running. Over real HTTP: a token made with the CLI, an image generated and listed,
its bytes fetched through the ``url`` it was given (which carries the prefix), and
another team's id answered exactly like a missing one."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.support import (
    TIMEOUTS,
    Api,
    Process,
    bootstrap,
    expect,
    free_port,
    poll,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "aiohttp_host.py"
IMAGE_NOT_FOUND = b'{"error":{"code":"not_found","message":"image not found"}}'


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Process]:
    data = tmp_path / "host-data"
    bootstrap(data, team="acme")  # made with the CLI; migrates the SQLite file the host opens
    port = free_port()
    args = ["--port", str(port), "--data", str(data)]
    process = Process(
        "aiohttp-host",
        args,
        tmp_path / "host.log",
        port=port,
        command=[sys.executable, str(EXAMPLE)],
        health_path="/rankion/healthz",
    ).start()
    try:
        process.wait_healthy()
        yield process
    finally:
        process.stop()


async def test_the_mounted_api_serves_a_whole_flow_under_its_prefix(
    host: Process, tmp_path: Path
) -> None:
    data = tmp_path / "host-data"
    acme = bootstrap(data, team="acme-2")  # a team and token made while the host runs
    other = bootstrap(data, team="globex")
    base = host.base_url
    mounted = f"{base}/rankion"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/") as home:  # the host's own route, beside the API
            assert (await home.json())["app"] == "host"
        api = Api(session, mounted, acme.token)
        rival = Api(session, mounted, other.token)
        assert (await api.data("v1/credits"))["balance"] == 1000

        queued = await api.post("v1/generate/image", {"prompt": "a harbour", "size": "256x256"})
        expect(queued, 202)
        image_id = queued.data["image_id"]
        location = queued.headers["Location"]
        assert location == f"/rankion/v1/images/{image_id}"
        # the host's workers run the job; the Location is followed as given
        image = await poll(lambda: _ready(session, base + location, acme.token), within=60)

        listed = await api.ok("GET", "v1/images")
        assert [row["id"] for row in listed["data"]] == [image_id]
        row = listed["data"][0]
        for key in ("url", "thumbnail_url"):
            assert row[key].startswith(f"{mounted}/files/"), row[key]
        async with session.get(row["url"]) as download:  # no token: the link is signed
            assert download.status == 200
            assert download.content_type == "image/png"
            body = await download.read()
        assert body.startswith(b"\x89PNG") and len(body) == image["bytes"]
        async with session.get(row["thumbnail_url"]) as thumb:
            assert thumb.status == 200 and thumb.content_type.startswith("image/")

        for who, path in (
            (rival, f"v1/images/{image_id}"),  # another team's image
            (api, f"v1/images/{image_id + 1000}"),  # no such image
            (api, "v1/images/abc"),  # no route matches: the id's kind still answers
        ):
            reply = await who.get(path)
            assert (reply.status, reply.body) == (404, IMAGE_NOT_FOUND), path

        async with session.get(f"{mounted}/v1/openapi.json") as answer:
            document = await answer.json()
        assert document["servers"] == [{"url": mounted}]
        assert "/v1/images/{id}" in document["paths"]

        shared = await api.ok("POST", f"v1/images/{image_id}/share", {}, status=201)
        public_url = shared["data"]["public_url"]
        assert public_url.startswith(f"{mounted}/s/")
        async with session.get(public_url) as page:
            assert page.status == 200 and "text/html" in page.content_type
    assert host.popen is not None
    host.popen.send_signal(signal.SIGTERM)
    assert host.popen.wait(TIMEOUTS.stop) == 0


async def _ready(session: aiohttp.ClientSession, url: str, token: str) -> dict[str, Any] | None:
    async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as reply:
        assert reply.status == 200, url
        image: dict[str, Any] = (await reply.json())["data"]
    assert image["processing_status"] != "failed", image
    return image if image["processing_status"] == "ready" else None
