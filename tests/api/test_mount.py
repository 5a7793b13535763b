"""The API as a sub-application of a host aiohttp app (``host.add_subapp("/rankion",
create_app(config))``), on memory and on SQLite, built from the config or around a
given core: every ``Location`` and URL it hands out carries the prefix and works, its
paths' rules (404s, unknown query parameters, the OpenAPI paths) are those at a root,
and a given core is left as it was."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web
from attrs import evolve

from rankion_core import Rankion
from rankion_server import wiring
from rankion_server.app import create_app
from rankion_server.config import ServerConfig
from rankion_server.keys import RANKION
from rankion_server.mount import mounted_base
from rankion_sqlalchemy import SqlStorage

from .conftest import Client, ClientFactory, config, make_team, relative
from .sqlapi import build_rankion, sql_storage

__all__ = ["sql_storage"]  # the fixture, imported to be used here

PREFIX = "/rankion"
PUBLIC = "https://host.example/base"
IMAGE_NOT_FOUND = {"error": {"code": "not_found", "message": "image not found"}}


@pytest.fixture(params=["memory", "sqlite"])
def cfg(request: pytest.FixtureRequest, tmp_path: Path) -> ServerConfig:
    url = "memory://" if request.param == "memory" else f"sqlite+aiosqlite:///{tmp_path}/r.db"
    return evolve(config(url), public_url=PUBLIC, blobs_url=str(tmp_path / "blobs"))


async def _host(aiohttp_client: ClientFactory, api: web.Application) -> Client:
    async def home(request: web.Request) -> web.Response:
        return web.Response(text="host")

    host = web.Application()
    host.router.add_get("/", home)
    host.add_subapp(PREFIX, api)
    return await aiohttp_client(host)


async def _flow(client: Client, core: Rankion) -> None:
    """Generate, follow the Location, list, download through the URLs handed out."""
    acme, globex = await make_team(core, "acme", 100), await make_team(core, "globex", 100)
    auth = acme.auth
    body = {"prompt": "a pier", "size": "256x256"}
    replays = []
    for _ in range(2):  # the second is an idempotent replay: the same prefixed Location
        started = await client.post(
            f"{PREFIX}/v1/generate/image", json=body, headers={**auth, "Idempotency-Key": "k1"}
        )
        assert started.status == 202, await started.text()
        replays.append(started.headers["Location"])
    image_id = (await started.json())["data"]["image_id"]
    assert replays == [f"{PREFIX}/v1/images/{image_id}"] * 2
    assert await core.run_pending() == 1

    image = (await (await client.get(replays[0], headers=auth)).json())["data"]
    listed = (await (await client.get(f"{PREFIX}/v1/images", headers=auth)).json())["data"]
    assert [row["id"] for row in listed] == [image_id]
    for url in (image["url"], image["thumbnail_url"], listed[0]["url"]):
        assert url.startswith(f"{PUBLIC}{PREFIX}/files/"), url
        download = await client.get(relative(url).removeprefix("/base"))  # the proxy's part
        assert download.status == 200
        assert (await download.read())[:4] in (b"\x89PNG", b"RIFF")

    for path, who in (
        (f"{PREFIX}/v1/images/{image_id}", globex),
        (f"{PREFIX}/v1/images/{image_id + 99}", acme),
        (f"{PREFIX}/v1/images/abc", acme),
        (f"{PREFIX}/v1/images/99999999999999999999", acme),
    ):
        answer = await client.get(path, headers=who.auth)
        assert answer.status == 404, path
        assert orjson.loads(await answer.read()) == IMAGE_NOT_FOUND, path
    unknown = await client.get(f"{PREFIX}/v1/images?colour=red", headers=auth)
    assert unknown.status == 422  # the query rules of /v1/ hold under the prefix

    share = await client.post(f"{PREFIX}/v1/images/{image_id}/share", json={}, headers=auth)
    public_url = (await share.json())["data"]["public_url"]
    assert public_url.startswith(f"{PUBLIC}{PREFIX}/s/")
    page = await client.get(relative(public_url).removeprefix("/base"))
    assert page.status == 200

    document = await (await client.get(f"{PREFIX}/v1/openapi.json")).json()
    assert document["servers"] == [{"url": PUBLIC + PREFIX}]
    assert "/v1/images" in document["paths"]
    assert not any(path.startswith(PREFIX) for path in document["paths"])
    docs = await client.get(f"{PREFIX}/docs")
    assert docs.status == 200 and 'src="docs/assets/rankion-docs.js"' in await docs.text()
    assert (await client.get(f"{PREFIX}/docs/assets/rankion-docs.js")).status == 200
    assert await (await client.get("/")).text() == "host"


async def test_a_mounted_api_hands_out_prefixed_urls_that_work(
    aiohttp_client: ClientFactory, cfg: ServerConfig
) -> None:
    api = create_app(cfg, web_app=False)
    client = await _host(aiohttp_client, api)
    await _flow(client, api[RANKION])
    assert api[RANKION].deps.base_url == PUBLIC + PREFIX


async def test_a_given_core_is_served_under_the_prefix_and_left_as_it_was(
    aiohttp_client: ClientFactory, cfg: ServerConfig
) -> None:
    core = await wiring.build(cfg)
    try:
        client = await _host(aiohttp_client, create_app(cfg, rankion=core, web_app=False))
        await _flow(client, core)
        assert core.deps.base_url == PUBLIC  # the caller's own links are its own
        await client.close()
    finally:
        await wiring.close(core)


async def test_a_given_sql_core_is_served_under_the_prefix(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage, tmp_path: Path
) -> None:
    """SQLite, and PostgreSQL when ``RANKION_TEST_POSTGRES_URL`` is set."""
    cfg = evolve(config(), public_url=PUBLIC, blobs_url=str(tmp_path / "blobs"))
    core = build_rankion(sql_storage, cfg)
    client = await _host(aiohttp_client, create_app(cfg, rankion=core, web_app=False))
    await _flow(client, core)
    assert core.deps.base_url == PUBLIC
    await client.close()


async def test_a_web_app_under_a_prefix_is_warned_about(
    aiohttp_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="rankion.server"):
        await _host(aiohttp_client, create_app(config()))
    assert "web_app_under_prefix" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rankion.server"):
        await _host(aiohttp_client, create_app(config(), web_app=False))
        await aiohttp_client(create_app(config()))  # at a root: nothing to say
    assert "web_app_under_prefix" not in caplog.text


def test_the_base_url_gets_the_prefix_once() -> None:
    cases: dict[tuple[str, str], str] = {
        ("http://h:8000", ""): "http://h:8000",
        ("http://h:8000/", "/rankion"): "http://h:8000/rankion",
        ("http://h:8000/rankion", "/rankion"): "http://h:8000/rankion",
        ("https://h/proxy", "/rankion"): "https://h/proxy/rankion",
    }
    found: dict[tuple[str, str], Any] = {k: mounted_base(*k) for k in cases}
    assert found == cases
