"""What people name things may be one long word (a title of 200 letters, a project's
name, an event's title, a tag): every page still fits its window, wrapping the word."""

from __future__ import annotations

from typing import Any

from tests.e2e.support import Api, Server, expect, generate

from .conftest import SKIP, sign_in, watch

pytestmark = SKIP

WIDTHS = (1280, 390)
#: the page's width beyond the window, and each named element whose box does
OVERFLOW = """(selectors) => {
  const width = document.documentElement.clientWidth;
  const out = selectors.flatMap((s) => [...document.querySelectorAll(s)].map((e) => [s, e]))
    .filter(([, e]) => e.getBoundingClientRect().right > width + 1).map(([s]) => s);
  return [document.documentElement.scrollWidth - width, out];
}"""


async def test_a_long_word_wraps_on_every_page(page: Any, server: Server, api: Api) -> None:
    word = "W" * 200
    image = await generate(api, "a very long title", title=word, tags=["T" * 50])
    project = expect(await api.post("/v1/projects", {"name": "P" * 200}), 201).data
    expect(
        await api.post(
            f"/v1/projects/{project['id']}/calendar",
            {"title": "E" * 200, "scheduled_at": "2026-12-10T09:00:00Z"},
        ),
        201,
    )
    expect(
        await api.post(
            f"/v1/projects/{project['id']}/calendar", {"title": "I" * 200, "status": "idea"}
        ),
        201,
    )
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    pages = {
        f"/app/images/{image['id']}": ["h1", ".tree .node", ".meta-list dd"],
        f"/app/projects/{project['id']}/calendar?month=2026-12": ["h1", ".top nav a", ".event"],
        "/app": ["h1", ".tile", ".top nav a"],
        "/app?tags[]=" + "X" * 60: ["h1", ".error"],  # the API's message, naming the tag
    }
    for width in WIDTHS:
        await page.set_viewport_size({"width": width, "height": 844})
        for path, named in pages.items():
            await page.goto(server.base_url + path)
            beyond, out = await page.evaluate(OVERFLOW, named)
            assert (beyond, out) == (0, []), (width, path)
    assert problems == []
