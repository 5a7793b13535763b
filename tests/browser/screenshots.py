"""Screenshots of the web app for the docs: ``python -m tests.browser.screenshots
BASE_URL TOKEN IMAGE_ID PROJECT_ID MONTH [OUT_DIR]`` against a running server with
some images and events (docs/web.md says how the committed ones were made)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.e2e.browser import CHROMIUM_ARGS, chromium_path


async def shoot(base: str, token: str, image: str, project: str, month: str, out: Path) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as driver:
        browser = await driver.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        for width, height in ((1280, 860), (390, 844)):
            page = await browser.new_page(viewport={"width": width, "height": height})
            await page.goto(base + "/app/sign-in")
            await page.fill("#token", token)
            await page.click("button[type=submit]")
            await page.wait_for_url(base + "/app")
            shots = {
                "gallery": "/app",
                "image": f"/app/images/{image}",
                "calendar": f"/app/projects/{project}/calendar?month={month}",
            }
            for name, path in shots.items():
                await page.goto(base + path)
                await page.wait_for_load_state("networkidle")
                await page.screenshot(path=str(out / f"web-{name}-{width}.png"), full_page=False)
            await page.close()
        await browser.close()


if __name__ == "__main__":
    base, token, image, project, month, *rest = sys.argv[1:]
    folder = Path(rest[0] if rest else "docs/images")
    folder.mkdir(parents=True, exist_ok=True)
    asyncio.run(shoot(base.rstrip("/"), token, image, project, month, folder))
