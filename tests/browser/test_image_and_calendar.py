"""The rest of the journey in a real browser: edit with a painted mask and see the
variant in the tree, trash and restore, share and open the public page signed out;
the calendar: create in the dialog, drag to another day (the API agrees), and a
published event that does not move and says why."""

from __future__ import annotations

from typing import Any

from tests.e2e.support import Api, Server, expect, generate

from .conftest import SKIP, sign_in, watch

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

    # drag it to the 20th: the API agrees, same time of day
    await created.drag_to(page.locator('td[data-date="2026-05-20"]'))
    await page.locator('td[data-date="2026-05-20"] .event', has_text="Launch post").wait_for()
    moved = expect(await api.get(f"/v1/calendar/{event_id}"), 200).data
    assert moved["scheduled_at"] == "2026-05-20T10:30:00Z"

    # a published event does not move, and the page says why (the API's message)
    shipped = page.locator(f'.event[data-id="{published["id"]}"]')
    await shipped.drag_to(page.locator('td[data-date="2026-05-21"]'))
    await page.wait_for_selector("#toast.error.show")
    assert "published" in (await page.text_content("#toast") or "")
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
