"""A headless Debian ``chromium`` driven by Playwright, or a reason to skip.

Playwright's own browser downloads are never used: the test drives the system's
chromium (``apt-get install chromium``; ``.ci/run`` installs it), so nothing is
fetched at test time.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CANDIDATES = ("chromium", "chromium-browser")


def chromium_path() -> str | None:
    given = os.environ.get("RANKION_TEST_CHROMIUM")
    if given:
        return given
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def why_no_browser() -> str | None:
    """None when a browser test can run, else the reason it cannot."""
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install 'rankion[dev]')"
    if chromium_path() is None:
        return "no chromium on PATH (apt-get install chromium)"
    return None


@asynccontextmanager
async def browser_page() -> AsyncIterator[Any]:
    """A fresh page of a headless chromium; closed afterwards."""
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            yield page
        finally:
            await browser.close()
