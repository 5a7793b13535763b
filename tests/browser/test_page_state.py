"""What the pages say after a change made on them: an error said once, counts and
titles that follow the change, what a trashed image offers, which view is on."""

from __future__ import annotations

from typing import Any

from tests.e2e.support import Api, Server

from .conftest import SKIP, sign_in, watch

pytestmark = SKIP


async def test_an_error_is_said_once(page: Any, server: Server, api: Api) -> None:
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    await page.fill("#g-prompt", "   ")  # not blank to the form, blank to the API
    await page.click("#generate button[type=submit]")
    error = page.locator("#g-error")
    await error.filter(has_text="blank").wait_for()
    assert await error.text_content() == "prompt must not be blank"
    assert problems == []
