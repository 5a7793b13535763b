"""``examples/fastapi_app.py`` under uvicorn, as a real process on a free port: the core
on SQLite and a blob folder, the worker pool in the app's lifespan. Over real HTTP: two
teams, an image generated and listed, its bytes streamed through ``rankion.files`` (by
id, and through the signed links it hands out), another team's id and a forged link
answered with the same 404, and a graceful stop."""

from __future__ import annotations

import io
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image

from tests.e2e.support import TIMEOUTS, Process, free_port, poll

pytest.importorskip("fastapi", reason="the FastAPI example needs the dev extras")
pytest.importorskip("uvicorn", reason="the FastAPI example needs the dev extras")

ROOT = Path(__file__).resolve().parents[2]
IMAGE_NOT_FOUND = {"error": {"code": "not_found", "message": "image not found"}}
FILE_NOT_FOUND = {"error": {"code": "not_found", "message": "file not found"}}


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Process]:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "examples.fastapi_app:app", "--app-dir", str(ROOT)]
    process = Process(
        "fastapi",
        ["--host", "127.0.0.1", "--port", str(port)],
        tmp_path / "fastapi.log",
        env={
            "EXAMPLE_DATA": str(tmp_path / "data"),
            "EXAMPLE_URL": f"http://127.0.0.1:{port}",
        },
        port=port,
        command=command,
        health_path="/docs",  # FastAPI's own page: it answers once the lifespan has run
    ).start()
    try:
        process.wait_healthy()
        yield process
    finally:
        process.stop()


async def test_a_fastapi_app_lists_generates_and_serves_bytes(app: Process) -> None:
    base = app.base_url
    async with aiohttp.ClientSession(base) as http:

        async def call(method: str, path: str, team: int, **kw: Any) -> tuple[int, Any]:
            async with http.request(method, path, headers={"X-Team": str(team)}, **kw) as r:
                return r.status, await r.json()

        async def team(name: str) -> int:
            async with http.post("/teams", json={"name": name, "credits": 50}) as reply:
                assert reply.status == 201
                return int((await reply.json())["id"])

        acme, globex = await team("acme"), await team("globex")
        status, queued = await call("POST", "/images", acme, json={"prompt": "a lighthouse"})
        assert status == 202, queued
        image_id = queued["image_id"]

        async def ready() -> dict[str, Any] | None:
            status, image = await call("GET", f"/images/{image_id}", acme)
            assert status == 200 and image["status"] != "failed", image
            return image if image["status"] == "ready" else None

        image = await poll(ready, within=60)  # the lifespan's workers made it
        status, listed = await call("GET", "/images", acme, params={"q": "lighthouse"})
        assert (status, listed["total"], listed["items"][0]["id"]) == (200, 1, image_id)
        assert (await call("GET", "/images", globex))[1]["total"] == 0

        async with http.get(f"/images/{image_id}/original", headers={"X-Team": str(acme)}) as r:
            assert (r.status, r.content_type) == (200, "image/png")
            original = await r.read()
        assert Image.open(io.BytesIO(original)).size == (1024, 1024)
        async with http.get(image["thumbnail_url"]) as r:  # a signed link, no team header
            assert r.status == 200 and r.content_type == "image/webp"
            assert r.headers["Cache-Control"].startswith("private, max-age=")
            assert Image.open(io.BytesIO(await r.read())).format == "WEBP"
        async with http.get(image["url"]) as r:
            assert await r.read() == original

        # another team's id, a missing id, a missing variant: one 404
        for team_id, path in (
            (globex, f"/images/{image_id}"),
            (globex, f"/images/{image_id}/original"),
            (acme, f"/images/{image_id + 99}/original"),
            (acme, f"/images/{image_id}/avif-9999"),
        ):
            assert await call("GET", path, team_id) == (404, IMAGE_NOT_FOUND), path
        for path in (f"/images/{2**63}", f"/images/{2**63}/original"):  # bounded first
            assert (await call("GET", path, acme))[0] == 422, path
        forged = image["url"].replace("sig=", "sig=0")
        async with http.get(forged) as r:
            assert (r.status, await r.json()) == (404, FILE_NOT_FOUND)

    assert app.popen is not None
    app.popen.send_signal(signal.SIGTERM)
    # uvicorn ends the lifespan (the pool's stop, the core's close), then re-raises the signal
    assert app.popen.wait(TIMEOUTS.stop) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in app.log(), app.log()
