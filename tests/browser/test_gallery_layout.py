"""The gallery's layout and scrolling in a real browser: a decorated link still scrolls
on."""

from __future__ import annotations

from typing import Any

from tests.e2e.support import Api, Server, generate

from .conftest import SKIP, sign_in, watch

pytestmark = SKIP


async def _at_least(api: Api, count: int) -> None:
    for n in range(await api.total("/v1/images?per_page=1"), count):
        await generate(api, f"a layout study number {n}")


async def test_more_images_from_a_decorated_link(page: Any, server: Server, api: Api) -> None:
    await _at_least(api, 5)
    problems = watch(page)
    refused: list[str] = []
    page.on("response", lambda r: refused.append(r.url) if r.status >= 400 else None)
    await sign_in(page, server.base_url, server.tenant.token)
    await page.goto(server.base_url + "/app?utm_source=newsletter&per_page=2&sort=&tags[]=")
    # the next pages load while the end of the grid is near, then the link goes
    await page.locator("#more").wait_for(state="detached")
    assert await page.locator("#grid .tile").count() == await api.total("/v1/images")
    ids = await page.eval_on_selector_all("#grid .tile", "(ts) => ts.map((t) => t.dataset.id)")
    assert len(ids) == len(set(ids))  # each page once
    assert refused == [] and problems == []
    assert not await page.locator("#toast.show").count()
