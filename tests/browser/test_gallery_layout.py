"""The gallery's layout and scrolling in a real browser: a decorated link still scrolls
on, the keyboard focus ring shows whole, and on a phone the forms come before the grid."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from tests.e2e.support import Api, Server, generate

from .conftest import SKIP, sign_in, watch

pytestmark = SKIP

FOCUS = (240, 140, 0)  # --focus in app.css


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


def _ring(shot: bytes, margin: int) -> dict[str, float]:
    """For each side of the focused box (``margin`` px inside the shot), the share of
    its length that has a focus-coloured pixel within 5 px of the edge."""
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    width, height = image.size
    px = image.load()

    def orange(x: int, y: int) -> bool:
        return all(abs(a - b) < 40 for a, b in zip(px[x, y], FOCUS, strict=True))

    inner = range(margin + 6, width - margin - 6), range(margin + 6, height - margin - 6)
    depth = range(-5, 6)
    sides = {
        "top": [any(orange(x, margin + d) for d in depth) for x in inner[0]],
        "bottom": [any(orange(x, height - 1 - margin + d) for d in depth) for x in inner[0]],
        "left": [any(orange(margin + d, y) for d in depth) for y in inner[1]],
        "right": [any(orange(width - 1 - margin + d, y) for d in depth) for y in inner[1]],
    }
    return {side: sum(hits) / len(hits) for side, hits in sides.items()}


async def test_the_focus_ring_of_a_tile_shows_on_every_side(
    page: Any, server: Server, api: Api
) -> None:
    await _at_least(api, 2)
    await sign_in(page, server.base_url, server.tenant.token)
    await page.locator("#grid .tile .thumb").nth(1).focus()
    await page.keyboard.press("ArrowLeft")  # focus moved by the keyboard: focus-visible
    box = await page.evaluate(
        "(() => { const r = document.activeElement.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })()"
    )
    margin = 8
    clip = {
        "x": box["x"] - margin,
        "y": box["y"] - margin,
        "width": box["width"] + 2 * margin,
        "height": box["height"] + 2 * margin,
    }
    shown = _ring(await page.screenshot(clip=clip), margin)
    assert all(share > 0.9 for share in shown.values()), shown


async def test_on_a_phone_the_forms_come_before_the_grid(
    page: Any, server: Server, api: Api
) -> None:
    await _at_least(api, 8)
    await page.set_viewport_size({"width": 375, "height": 812})
    await sign_in(page, server.base_url, server.tenant.token)
    top = "(s) => document.querySelector(s).getBoundingClientRect().top + scrollY"
    grid = await page.evaluate(top, "#grid")
    for form in ("#generate", "#filters"):
        assert await page.evaluate(top, form) < grid, form
    assert await page.evaluate(top, "#g-prompt") < 812  # generating needs no scrolling
