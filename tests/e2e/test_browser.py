"""The API docs page and a public share page, loaded by a real headless browser
against the real ``rankion serve``: the endpoints are listed, the image really
decodes, the Open Graph tags are there, and nothing breaks the pages' CSP."""

from __future__ import annotations

from typing import Any

import pytest

from .browser import browser_page, why_no_browser
from .support import Api, expect, generate

pytestmark = pytest.mark.skipif(why_no_browser() is not None, reason=why_no_browser() or "")
PAGE_TIMEOUT_MS = 30_000


def collect_problems(page: Any) -> list[str]:
    """Script errors, CSP violations and failed or 4xx/5xx requests of ``page``, as they
    happen. The browser's own ``/favicon.ico`` probe is not the page's doing."""
    problems: list[str] = []

    def console(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            problems.append(message.text)

    def response(reply: Any) -> None:
        if reply.status >= 400 and not reply.url.endswith("/favicon.ico"):
            problems.append(f"{reply.status}: {reply.url}")

    page.on("console", console)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    page.on("response", response)
    return problems


async def test_docs_page_lists_the_endpoints(api: Api) -> None:
    async with browser_page() as page:
        problems = collect_problems(page)
        await page.goto(api.url("/docs"), timeout=PAGE_TIMEOUT_MS)
        await page.wait_for_selector(".opblock", timeout=PAGE_TIMEOUT_MS)
        paths = await page.eval_on_selector_all(
            ".opblock-summary-path", "nodes => nodes.map(n => n.getAttribute('data-path'))"
        )
        title = await page.text_content(".info .title")
    assert "Rankion" in (title or "")
    for path in (
        "/v1/images",
        "/v1/generate/image",
        "/v1/projects/{project}/calendar",
        "/v1/projects/{project}/calendar.ics",
        "/s/{token}",
        "/metrics",
    ):
        assert path in paths, f"{path} not listed; the page shows {len(paths)} operations"
    assert problems == []


async def test_share_page_shows_the_image_with_open_graph_tags(api: Api) -> None:
    image = await generate(api, "a lighthouse at dawn, for the browser", title="Lighthouse")
    share = expect(await api.post(f"/v1/images/{image['id']}/share"), 201).data
    async with browser_page() as page:
        problems = collect_problems(page)
        await page.goto(share["public_url"], timeout=PAGE_TIMEOUT_MS)
        await page.wait_for_function(
            "() => [...document.images].every(i => i.complete)", timeout=PAGE_TIMEOUT_MS
        )
        width = await page.eval_on_selector("main img", "img => img.naturalWidth")
        og = await page.eval_on_selector_all(
            "meta[property^='og:']",
            "nodes => Object.fromEntries(nodes.map(n => [n.getAttribute('property'),"
            " n.getAttribute('content')]))",
        )
    assert width == image["width"] > 0
    assert og["og:title"] == "Lighthouse"
    assert og["og:image"].endswith(f"/s/{share['token']}/image")
    assert og["og:url"] == share["public_url"]
    assert problems == []
    preview = await api.get(og["og:image"])  # what a link preview fetches
    assert preview.status == 200
    assert preview.headers["Content-Type"].startswith("image/")
