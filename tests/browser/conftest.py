"""A real ``rankion serve`` and a headless Debian chromium for the web app's journeys."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from tests.e2e.browser import browser_page, why_no_browser
from tests.e2e.support import Api, Server, bootstrap, cli_value, expect, poll, serve

SKIP = pytest.mark.skipif(why_no_browser() is not None, reason=why_no_browser() or "")


def _server(tmp_path_factory: pytest.TempPathFactory, *args: str) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("rankion-web")
    tenant = bootstrap(data_dir)
    process = serve("--workers", "2", *args, data_dir=data_dir)
    yield Server(process, data_dir, tenant)
    process.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _server(tmp_path_factory)


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose provider takes 4 s an image: time to see one being drawn."""
    yield from _server(tmp_path_factory, "--provider-option", "delay=4")


@pytest.fixture(scope="module")
def other_token(server: Server) -> str:
    """A token of another team."""
    cli_value("team", "create", "rivals", "--credits", "100", data_dir=server.data_dir)
    return cli_value("token", "create", "--team", "rivals", data_dir=server.data_dir)


def watch(page: Any) -> list[str]:
    """Script errors, CSP violations and failed requests of ``page``, as they happen.
    4xx answers the test provokes on purpose are not the page's fault, so only 5xx
    and failures count."""
    problems: list[str] = []

    def console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def response(reply: Any) -> None:
        if reply.status >= 500:
            problems.append(f"{reply.status}: {reply.url}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", response)
    return problems


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    async with browser_page() as opened:
        opened.set_default_timeout(30_000)
        yield opened


async def sign_in(page: Any, base_url: str, token: str) -> None:
    await page.goto(base_url + "/")
    await page.fill("#token", token)
    await page.click("button[type=submit]")
    await page.wait_for_url(base_url + "/app")


class Holder:
    """Requests kept waiting: ``page.route(pattern, holder.hold)``; ``let_go()`` sends
    those held on and every later one at once."""

    def __init__(self) -> None:
        self.held: list[Any] = []
        self.open = False

    async def hold(self, route: Any) -> None:
        if self.open:
            await route.continue_()
        else:
            self.held.append(route)

    async def let_go(self) -> None:
        self.open = True
        waiting, self.held = self.held, []
        for route in waiting:
            await route.continue_()


async def failed_image(api: Api, prompt: str = "a refused picture") -> dict[str, Any]:
    """An image the provider refuses (the offline provider's ``[reject]`` marker), once
    it has failed."""
    body = {"prompt": f"{prompt} [reject]", "size": "256x256"}
    queued = expect(await api.post("/v1/generate/image", body), 202).data

    async def failed() -> dict[str, Any] | None:
        image = expect(await api.get(f"/v1/images/{queued['image_id']}"), 200).data
        return image if image["processing_status"] == "failed" else None

    return await poll(failed, what="the failed image")


@pytest.fixture
async def api(server: Server) -> AsyncIterator[Api]:
    """The server with the tenant's bearer token: what the test checks the app against."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as client:
        yield Api(client, server.base_url, server.tenant.token)
