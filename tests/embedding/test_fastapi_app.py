"""``examples/fastapi_app.py`` under uvicorn, as a real process on a free port, on SQLite
and a blob folder. Over real HTTP: an image generated (the lifespan's workers make
it), listed, its bytes streamed through ``rankion.files.open`` and through the signed
``/files/…`` links it was given, each a real picture; another team's id and a bad
link answered exactly like missing ones; a clean exit on SIGTERM."""

from __future__ import annotations

import asyncio
import io
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image as PILImage

from rankion_core import Deps, HmacUrlSigner, Rankion
from rankion_fsspec import open_blob_store
from rankion_procedural import PillowCodec, ProceduralProvider
from rankion_sqlalchemy import open_storage
from tests.e2e.support import TIMEOUTS, free_port, poll
from tests.embedding.support import EXAMPLES, Example

SECRET = "a test secret of 16 bytes or more"


async def make_teams(data: Path, *names: str) -> list[int]:
    """Teams with credits, made through the core on the database the app opens (an
    embedding app makes them from its own sign-up)."""
    storage = open_storage(f"sqlite:///{data / 'gallery.db'}")
    await storage.migrate()
    deps = Deps(
        storage=storage,
        blobs=open_blob_store(str(data / "blobs")),
        provider=ProceduralProvider(),
        codec=PillowCodec(),
        signer=HmacUrlSigner(SECRET.encode()),
    )
    rankion = Rankion(deps)
    try:
        return [(await rankion.accounts.create_team(name, 100)).id for name in names]
    finally:
        await rankion.close()


@pytest.fixture
def gallery(tmp_path: Path) -> Iterator[tuple[Example, list[int]]]:
    data = tmp_path / "gallery"
    data.mkdir()
    teams = asyncio.run(make_teams(data, "acme", "globex"))
    port = free_port()
    argv = ["-m", "uvicorn", "fastapi_app:app", "--app-dir", str(EXAMPLES)]
    env = {
        "GALLERY_DATA": str(data),
        "GALLERY_URL": f"http://127.0.0.1:{port}",
        "GALLERY_SECRET": SECRET,
    }
    process = Example(
        "fastapi",
        [*argv, "--host", "127.0.0.1", "--port", str(port)],
        tmp_path / "fastapi.log",
        env=env,
        port=port,
        health="/images",
        health_headers={"X-Team": str(teams[0])},
    )
    process.start()
    try:
        process.wait_healthy()
        yield process, teams
    finally:
        process.stop()


def picture(body: bytes) -> str:
    """The format Pillow finds in ``body`` (fails unless it is a whole image)."""
    with PILImage.open(io.BytesIO(body)) as opened:
        opened.load()
        assert opened.width > 0
        return str(opened.format)


async def test_list_generate_and_serve_bytes_over_real_http(
    gallery: tuple[Example, list[int]],
) -> None:
    app, (acme, globex) = gallery
    base = app.base_url
    mine, theirs = {"X-Team": str(acme)}, {"X-Team": str(globex)}
    async with aiohttp.ClientSession(base, timeout=aiohttp.ClientTimeout(TIMEOUTS.http)) as http:

        async def get(path: str, headers: dict[str, str]) -> tuple[int, str, bytes]:
            async with http.get(path, headers=headers) as reply:
                return reply.status, reply.content_type, await reply.read()

        body = {"prompt": "a harbour", "size": "256x256"}
        async with http.post("/images", json=body, headers=mine) as reply:
            assert reply.status == 202, await reply.text()
            image_id = (await reply.json())["id"]

        async def ready() -> dict[str, Any] | None:
            async with http.get(f"/images/{image_id}", headers=mine) as reply:
                assert reply.status == 200
                shown: dict[str, Any] = await reply.json()
            assert shown["status"] != "failed", shown
            return shown if shown["status"] == "ready" else None

        shown = await poll(ready, within=60, what="the image ready")
        async with http.get("/images", headers=mine) as reply:
            listed = await reply.json()
        assert [row["id"] for row in listed] == [image_id]
        assert listed[0]["url"] == shown["url"]

        status, kind, original = await get(f"/images/{image_id}/bytes", mine)
        assert (status, kind) == (200, "image/png")
        assert picture(original) == "PNG"
        status, kind, thumb = await get(f"/images/{image_id}/bytes?variant=thumbnail", mine)
        assert (status, kind) == (200, "image/webp")
        assert picture(thumb) == "WEBP"

        # the signed links the services hand out point at this app's /files route
        for key, expected in (("url", original), ("thumbnail_url", thumb)):
            assert shown[key].startswith(f"{base}/files/"), shown[key]
            status, _kind, body = await get(shown[key], {})
            assert (status, body) == (200, expected)

        missing = await get(f"/images/{image_id + 1000}", mine)
        assert missing[0] == 404
        assert await get(f"/images/{image_id}", theirs) == missing
        assert await get(f"/images/{'9' * 30}", mine) == missing  # past any integer column
        assert await get(f"/images/{image_id}/bytes", theirs) == await get(
            f"/images/{image_id + 1000}/bytes", mine
        )
        async with http.get("/images", headers=theirs) as reply:
            assert await reply.json() == []

        bad_link = await get(shown["url"].replace("sig=", "sig=0"), {})
        assert bad_link[0] == 404
        assert await get(shown["url"].split("?")[0], {}) == bad_link
        # one link's signature on another blob's path
        other_path = shown["thumbnail_url"].split("?")[0]
        assert await get(f"{other_path}?{shown['url'].split('?')[1]}", {}) == bad_link
        unknown_variant = await get(f"/images/{image_id}/bytes?variant=huge", mine)
        assert unknown_variant[0] == 404

        for path, headers in (
            ("/images", {}),  # nobody
            ("/images", {"X-Team": "acme"}),  # not an id
            ("/images", {"X-Team": "9" * 30}),  # no team id is that large
            (f"/images/{image_id}/bytes?variant={'x' * 100}", mine),  # too long
        ):
            assert (await get(path, headers))[0] == 422, path
        async with http.post("/images", json={"prompt": ""}, headers=mine) as reply:
            assert reply.status == 422
            assert (await reply.json())["code"] == "validation_error"

    assert app.popen is not None
    app.popen.send_signal(signal.SIGTERM)  # the lifespan stops the workers, closes the ports
    # uvicorn ends its graceful shutdown by raising the signal it caught again
    assert app.popen.wait(TIMEOUTS.stop) in (0, -signal.SIGTERM)
    log = app.log()
    assert "Application shutdown complete" in log, log
    assert "Traceback" not in log and "ERROR" not in log, log
