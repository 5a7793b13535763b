"""The gallery's layout and scrolling in a real browser: a decorated link still scrolls
on, every image once when the list changes while it scrolls, the keyboard focus ring
shows whole, square tiles whatever the picture's shape, and on a phone the first
screen shows images."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from tests.e2e.support import Api, Server, generate

from .conftest import SKIP, Holder, sign_in, watch

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


async def test_on_a_phone_the_first_screen_shows_images(
    page: Any, server: Server, api: Api
) -> None:
    await _at_least(api, 8)
    await page.set_viewport_size({"width": 375, "height": 812})
    await sign_in(page, server.base_url, server.tenant.token)
    # the Generate and Filter cards are folded: a first row of thumbnails shows whole
    tile = await page.locator("#grid .tile").first.bounding_box()
    assert tile["y"] + tile["height"] < 812, tile
    assert await page.locator("#g-prompt").is_hidden()
    # one tap (or Enter on its summary) opens a card, above the grid
    await page.locator("#generate-card > summary").focus()
    await page.keyboard.press("Enter")
    prompt = await page.locator("#g-prompt").bounding_box()
    assert prompt["y"] < 812
    # a filter applied keeps its card open
    await page.goto(server.base_url + "/app?sort=oldest")
    assert await page.locator("#f-sort").is_visible()
    # on a wide screen both cards are open, without a summary to press
    await page.set_viewport_size({"width": 1280, "height": 860})
    await page.goto(server.base_url + "/app")
    assert await page.locator("#g-prompt").is_visible()
    assert await page.locator("#f-q").is_visible()
    assert await page.locator(".fold > summary:visible").count() == 0


async def test_a_portrait_thumbnail_keeps_the_grid_square(
    page: Any, server: Server, api: Api
) -> None:
    await _at_least(api, 6)
    await generate(api, "a tall lighthouse", size="1024x1536")
    await sign_in(page, server.base_url, server.tenant.token)
    await page.locator("#grid .tile img").first.wait_for()
    await page.wait_for_function(
        "[...document.querySelectorAll('#grid .tile img')].slice(0, 12).every((i) => i.complete)"
    )
    boxes = await page.eval_on_selector_all(
        "#grid .tile .thumb",
        "(ts) => ts.slice(0, 12).map((t) => [t.getBoundingClientRect().width,"
        " t.getBoundingClientRect().height])",
    )
    assert all(abs(w - h) < 1 for w, h in boxes), boxes
    heights = await page.eval_on_selector_all(
        "#grid .tile", "(ts) => ts.slice(0, 12).map((t) => t.getBoundingClientRect().height)"
    )
    assert max(heights) - min(heights) < 1, heights


@pytest.mark.parametrize("change", ["trash", "generate"])
async def test_every_image_once_after_a_change_while_scrolling(
    page: Any, server: Server, api: Api, change: str
) -> None:
    await _at_least(api, 12)
    problems = watch(page)
    lists = Holder()
    # the next page is asked for, then the list changes before it is answered
    await page.route("**/v1/images?*", lists.hold)
    await sign_in(page, server.base_url, server.tenant.token)
    await page.goto(server.base_url + "/app?per_page=4")
    await page.wait_for_function("() => document.querySelectorAll('#grid .tile').length === 4")
    while not lists.held:
        await page.wait_for_timeout(50)
    if change == "trash":
        first = await page.locator("#grid .tile").first.get_attribute("data-id")
        await page.locator(f'.tile[data-id="{first}"] .pick').check()
        await page.click("#bulk-delete")
        await page.locator(f'.tile[data-id="{first}"]').wait_for(state="detached")
    else:
        await page.fill("#g-prompt", "an image made while scrolling")
        await page.click("#generate button[type=submit]")
        await page.locator("#grid .tile").first.locator("img").wait_for()
    await lists.let_go()
    await page.locator("#more").wait_for(state="detached")
    ids = await page.eval_on_selector_all("#grid .tile", "(ts) => ts.map((t) => +t.dataset.id)")
    assert len(ids) == len(set(ids)), ids  # none twice
    listed = [row["id"] for row in await api.all_pages("/v1/images")]
    assert sorted(ids) == sorted(listed)  # none missing
    assert problems == []
