"""The rest of the journey in a real browser: edit with a painted mask and see the
variant in the tree, trash and restore, share and open the public page signed out;
the share page keeps a portrait image's shape, a failed image offers no share, the
page of an image being drawn follows it; the calendar: create in the dialog, drag to
another day (the API agrees), a published event that does not move and says why,
filters kept from month to month, an idea dragged out of the backlog."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.e2e.support import Api, Server, expect, generate

from .conftest import SKIP, Holder, failed_image, sign_in, watch

pytestmark = SKIP


async def test_edit_with_a_mask_trash_restore_and_share(
    page: Any, server: Server, api: Api
) -> None:
    image = await generate(api, "a harbour at noon", title="Harbour")
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    await page.goto(f"{server.base_url}/app/images/{image['id']}")
    assert await page.get_attribute("#tree [aria-current=page]", "href") == (
        f"/app/images/{image['id']}"
    )
    # a plain nested list of links: no tree role whose arrow keys it would lack
    assert await page.locator("#tree[role], #tree [role], #tree [aria-expanded]").count() == 0

    # paint a mask on the canvas, then edit: the new variant is in the tree, marked
    canvas = page.locator("#stage canvas")
    box = await canvas.bounding_box()
    await page.mouse.move(box["x"] + 20, box["y"] + 20)
    await page.mouse.down()
    await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=8)
    await page.mouse.up()
    assert await page.text_content("#mask-state") == "Mask painted."
    await page.fill("#e-prompt", "same harbour, at night")
    await page.click("#edit-form button[type=submit]")
    await page.wait_for_url(lambda url: not url.endswith(f"/app/images/{image['id']}"))
    variant_id = int(page.url.rsplit("/", 1)[1])
    current = page.locator("#tree [aria-current=page]")
    assert await current.get_attribute("href") == f"/app/images/{variant_id}"
    assert await page.locator(f'#tree a[href="/app/images/{image["id"]}"]').count() == 1
    variant = expect(await api.get(f"/v1/images/{variant_id}"), 200).data
    assert variant["parent_id"] == image["id"]
    assert variant["processing_status"] == "ready"

    # share: the public page opens signed out
    await page.goto(f"{server.base_url}/app/images/{image['id']}")
    await page.check("#share-on")
    url_box = page.locator("#share-url")
    await url_box.wait_for()
    public_url = await url_box.input_value()
    assert "/s/" in public_url
    public = await page.context.browser.new_page()
    reply = await public.goto(public_url)
    assert reply.status == 200 and await public.title() == "Harbour"
    await public.close()

    # trash, then restore from the trash page
    await page.click("#trash")
    await page.wait_for_selector("#in-trash")
    await page.goto(f"{server.base_url}/app/trash")
    row = page.locator(f'.tile[data-id="{image["id"]}"]')
    assert "30 days left" in (await row.text_content() or "")
    await row.locator(".restore").click()
    await row.wait_for(state="detached")
    assert expect(await api.get(f"/v1/images/{image['id']}"), 200).data["deleted_at"] is None
    assert problems == []


async def test_calendar_create_drag_and_a_published_event(
    page: Any, server: Server, api: Api
) -> None:
    project = server.tenant.project_id
    published = expect(
        await api.post(
            f"/v1/projects/{project}/calendar",
            {
                "title": "Shipped post",
                "scheduled_at": "2026-05-12T09:00:00Z",
                "status": "published",
            },
        ),
        201,
    ).data
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    await page.goto(f"{server.base_url}/app/projects/{project}/calendar?month=2026-05")

    # create in the dialog, on the 14th
    await page.click('td[data-date="2026-05-14"] .day-add')
    await page.fill("#ev-title", "Launch post")
    await page.select_option("#ev-type", "article")
    await page.select_option("#ev-status", "scheduled")
    await page.fill("#ev-time", "10:30")
    await page.click("#event-form button[type=submit]")
    created = page.locator('td[data-date="2026-05-14"] .event', has_text="Launch post")
    await created.wait_for()
    event_id = await created.get_attribute("data-id")
    # May 2026 is past: the page says so, in the API's words (it has run its script)
    await page.locator("#cal-notice", has_text="is in the past").wait_for()

    # drag it to the 20th: the API agrees, same time of day (the notice moved the
    # month down: the 20th is brought into the window, as a person would scroll)
    await page.locator('td[data-date="2026-05-20"]').scroll_into_view_if_needed()
    await created.drag_to(page.locator('td[data-date="2026-05-20"]'))
    await page.locator('td[data-date="2026-05-20"] .event', has_text="Launch post").wait_for()
    moved = expect(await api.get(f"/v1/calendar/{event_id}"), 200).data
    assert moved["scheduled_at"] == "2026-05-20T10:30:00Z"

    # a published event does not move, and the page says why (the API's message)
    shipped = page.locator(f'.event[data-id="{published["id"]}"]')
    await shipped.drag_to(page.locator('td[data-date="2026-05-21"]'))
    await page.wait_for_selector("#toast.error.show")
    # said once: the details only repeat the message
    assert await page.text_content("#toast") == "a published event's scheduled_at cannot change"
    assert (
        await page.locator(
            f'td[data-date="2026-05-12"] .event[data-id="{published["id"]}"]'
        ).count()
        == 1
    )
    still = expect(await api.get(f"/v1/calendar/{published['id']}"), 200).data
    assert still["scheduled_at"] == "2026-05-12T09:00:00Z"

    # filters and the week view
    await page.check("#fs-published")
    await page.click(".filters button[type=submit]")
    await page.wait_for_url("**status=published**")
    assert await page.locator("#month .event").count() == 1
    await page.click("#view-week")
    assert await page.locator("#month tbody tr:visible").count() == 1
    assert problems == []


async def test_the_share_page_keeps_a_portrait_images_shape(
    page: Any, server: Server, api: Api
) -> None:
    image = await generate(api, "a tall tower", title="Tower", size="1024x1536")
    public_url = expect(await api.post(f"/v1/images/{image['id']}/share"), 201).data["public_url"]
    picture = Holder()  # its bytes wait: everything but the page itself is held
    await page.route(lambda url: url.rstrip("/") != public_url, picture.hold)
    box = (
        "(() => { const r = document.querySelector('figure img').getBoundingClientRect();"
        " return [r.width, r.height]; })()"
    )
    for width, height in ((1280, 860), (1920, 1080), (375, 800)):
        await page.set_viewport_size({"width": width, "height": height})
        await page.goto(public_url, wait_until="domcontentloaded")
        before = await page.evaluate(box)  # its box before the bytes: no jump after
        assert abs(before[0] / before[1] - 1024 / 1536) < 0.01, (width, before)
        assert before[1] <= height * 0.75 + 1
    assert picture.held  # the picture was asked for, and kept waiting
    await page.unroute_all(behavior="ignoreErrors")
    await page.set_viewport_size({"width": 1280, "height": 860})
    await page.goto(public_url)
    await page.wait_for_function("document.querySelector('figure img').complete")
    assert await page.evaluate(box) == [430, 645]


async def test_a_failed_image_offers_no_share(page: Any, server: Server, api: Api) -> None:
    failed = await failed_image(api)
    await sign_in(page, server.base_url, server.tenant.token)
    await page.goto(f"{server.base_url}/app/images/{failed['id']}")
    assert await page.locator("#share-on").count() == 0
    assert "failed" in (await page.text_content("#share-failed") or "")


async def test_the_image_page_follows_its_image_being_drawn(page: Any, slow_server: Server) -> None:
    async with aiohttp.ClientSession() as client:
        slow = Api(client, slow_server.base_url, slow_server.tenant.token)
        body = {"prompt": "a slow sunrise", "size": "256x256"}
        queued = expect(await slow.post("/v1/generate/image", body), 202).data
    problems = watch(page)
    await sign_in(page, slow_server.base_url, slow_server.tenant.token)
    await page.goto(f"{slow_server.base_url}/app/images/{queued['image_id']}")
    assert await page.locator("#picture").count() == 0
    assert await page.is_disabled("#edit-form button[type=submit]")
    await page.locator("#status", has_text="drawing").wait_for()
    await page.locator("#picture").wait_for(timeout=20_000)  # no reload of ours
    assert await page.text_content("#status") == "ready"
    assert await page.is_enabled("#edit-form button[type=submit]")
    assert await page.locator("#share-on").count() == 1
    assert problems == []


async def test_calendar_months_keep_the_filters_and_a_dropped_idea_shows(
    page: Any, server: Server, api: Api
) -> None:
    project = server.tenant.project_id
    idea = expect(
        await api.post(
            f"/v1/projects/{project}/calendar",
            {"title": "Undated idea", "status": "idea"},
        ),
        201,
    ).data
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    calendar = f"{server.base_url}/app/projects/{project}/calendar"
    await page.goto(f"{calendar}?month=2026-05&status=idea&type=article")
    for link in ("Next month", "Previous month"):
        await page.get_by_role("link", name=link).click()
        await page.wait_for_url("**status=idea**")
        assert "type=article" in page.url
        assert await page.is_checked("#fs-idea")
    await page.get_by_role("link", name="Today").click()
    await page.wait_for_url("**status=idea&type=article")

    # the last idea of the backlog dragged onto a day: its time shows, and the hint
    await page.goto(f"{calendar}?month=2026-05")
    dropped = page.locator(f'.event[data-id="{idea["id"]}"]')
    assert await page.locator("#backlog-empty").is_hidden()
    await dropped.drag_to(page.locator('td[data-date="2026-05-18"]'))
    await page.locator(f'td[data-date="2026-05-18"] .event[data-id="{idea["id"]}"]').wait_for()
    assert await page.locator("#backlog .event").count() == 0
    assert await page.locator("#backlog-empty").is_visible()
    assert (await dropped.text_content() or "").strip().endswith("09:00 Undated idea")
    label = await dropped.get_attribute("aria-label") or ""
    assert label.endswith(" at 09:00"), label
    assert problems == []
