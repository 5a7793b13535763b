"""A submit that spends credits or creates something sends one request, however often
it is clicked: its button is disabled until the answer comes, and the requests that
charge or start a job carry an ``Idempotency-Key``, the same one when the page sends
the same submit again after losing its answer."""

from __future__ import annotations

from typing import Any

from tests.e2e.support import Api, Server, expect, generate, poll

from .conftest import SKIP, Holder, sign_in, watch

pytestmark = SKIP

#: how long a second request of a double click is given to show up (it would follow
#: the first within milliseconds)
SECOND_REQUEST_MS = 500


async def _held_alone(page: Any, held: Holder, button: str) -> Any:
    """The one request ``held`` keeps after a double click on ``button`` and one more
    click where the button is then (what the page shows meanwhile may move it), while
    the button is disabled."""
    await page.locator(button).dblclick()
    await poll(lambda: _some(held), what="the request of the double click")
    await page.locator(button).click(force=True)  # disabled or not
    await page.wait_for_timeout(SECOND_REQUEST_MS)
    assert len(held.held) == 1, [r.request.url for r in held.held]
    assert await page.is_disabled(button)
    return held.held[0].request


async def _some(held: Holder) -> bool:
    return bool(held.held)


async def _balance(api: Api) -> int:
    return int((await api.data("/v1/credits"))["balance"])


async def test_a_double_click_on_generate_makes_one_image_and_one_charge(
    page: Any, server: Server, api: Api
) -> None:
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    images, balance = await api.total("/v1/images"), await _balance(api)
    posts = Holder()
    await page.route("**/v1/generate/image", posts.hold)

    await page.fill("#g-prompt", "a lighthouse, asked for with a double click")
    button = "#generate button[type=submit]"
    request = await _held_alone(page, posts, button)
    assert request.headers.get("idempotency-key")
    await posts.let_go()
    new = page.locator("#grid .tile").first
    await new.locator(".pending").wait_for()
    assert await page.is_enabled(button)  # the answer came: the form is usable again
    await new.locator("img").wait_for()

    assert await api.total("/v1/images") == images + 1
    assert await _balance(api) == balance - 5
    assert await page.text_content("#balance") == str(balance - 5)
    assert problems == []


async def test_a_generation_whose_answer_was_lost_is_asked_again_under_its_key(
    page: Any, server: Server, api: Api
) -> None:
    await sign_in(page, server.base_url, server.tenant.token)
    images, balance = await api.total("/v1/images"), await _balance(api)
    keys: list[str | None] = []

    async def lose_the_first_answer(route: Any) -> None:
        keys.append(route.request.headers.get("idempotency-key"))
        if len(keys) == 1:
            await route.fetch()  # the server queues the job; the page never hears of it
            await route.abort()
        else:
            await route.continue_()

    await page.route("**/v1/generate/image", lose_the_first_answer)
    await page.fill("#g-prompt", "a lighthouse whose answer got lost")
    await page.click("#generate button[type=submit]")
    await page.locator("#g-error:not(:empty)").wait_for()
    assert await api.total("/v1/images") == images + 1  # it was made, once

    # the same submit again: the same key, so the API answers with the job it made
    await page.click("#generate button[type=submit]")
    new = page.locator("#grid .tile").first
    await new.locator("img").wait_for()
    assert await page.text_content("#g-error") == ""
    assert keys[0] and keys[1] == keys[0]
    assert await api.total("/v1/images") == images + 1
    assert await _balance(api) == balance - 5

    # another picture asked for: a new key, a new image
    await page.fill("#g-prompt", "another lighthouse")
    await page.click("#generate button[type=submit]")
    await page.wait_for_function(
        "(n) => document.getElementById('image-count').dataset.count === String(n)",
        arg=images + 2,
    )
    assert len(keys) == 3 and keys[2] not in (None, keys[0])
    assert await _balance(api) == balance - 10


async def test_a_double_click_on_edit_makes_one_variant_and_one_charge(
    page: Any, server: Server, api: Api
) -> None:
    image = await generate(api, "a harbour edited with a double click")
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    await page.goto(f"{server.base_url}/app/images/{image['id']}")
    images, balance = await api.total("/v1/images"), await _balance(api)
    posts = Holder()
    await page.route("**/v1/images/*/edit", posts.hold)

    await page.fill("#e-prompt", "the same harbour, at night")
    request = await _held_alone(page, posts, "#edit-form button[type=submit]")
    assert request.headers.get("idempotency-key")
    await posts.let_go()
    await page.wait_for_url(lambda url: not url.endswith(f"/app/images/{image['id']}"))

    variant = expect(await api.get(page.url.replace("/app/", "/v1/")), 200).data
    assert variant["parent_id"] == image["id"]
    assert await api.total("/v1/images") == images + 1
    assert await _balance(api) == balance - 10
    assert problems == []


async def _bulk_double_click(
    page: Any, server: Server, api: Api, posts: Holder, action: str
) -> Any:
    """A new image picked in the gallery, then a double click on the bulk ``action``
    (``export``, ``delete``): the one request ``posts`` holds."""
    await generate(api, f"a harbour for a bulk {action}")
    await sign_in(page, server.base_url, server.tenant.token)
    await page.route(f"**/v1/images/bulk/{action}", posts.hold)
    await page.locator("#grid .pick").first.check()
    return await _held_alone(page, posts, f"#bulk-{action}")


async def test_a_double_click_on_export_starts_one_export(
    page: Any, server: Server, api: Api
) -> None:
    problems = watch(page)
    posts = Holder()
    request = await _bulk_double_click(page, server, api, posts, "export")
    assert request.headers.get("idempotency-key")
    await posts.let_go()
    await page.locator("#export-download").wait_for()
    assert await page.is_enabled("#bulk-export")  # still one image selected
    assert problems == []


async def test_a_double_click_on_move_to_trash_keeps_its_undo(
    page: Any, server: Server, api: Api
) -> None:
    problems = watch(page)
    posts = Holder()
    await _bulk_double_click(page, server, api, posts, "delete")
    await posts.let_go()
    await page.locator("#export-status button", has_text="Undo").wait_for()
    await page.wait_for_timeout(SECOND_REQUEST_MS)  # a second answer would say "Moved 0"
    assert (await page.text_content("#export-status") or "").startswith("Moved 1 to the trash.")
    assert problems == []


async def test_a_double_click_on_save_creates_one_event(
    page: Any, server: Server, api: Api
) -> None:
    project = server.tenant.project_id
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    await page.goto(f"{server.base_url}/app/projects/{project}/calendar?month=2026-06")
    posts = Holder()
    await page.route(f"**/v1/projects/{project}/calendar", posts.hold)

    await page.click('td[data-date="2026-06-10"] .day-add')
    await page.fill("#ev-title", "Saved with a double click")
    await _held_alone(page, posts, "#event-form button[type=submit]")
    await posts.let_go()
    await page.locator(".event", has_text="Saved with a double click").wait_for()

    events = await api.all_pages(f"/v1/projects/{project}/calendar")
    assert [e["title"] for e in events].count("Saved with a double click") == 1
    assert problems == []
