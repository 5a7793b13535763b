"""What the pages say after a change made on them: an error said once, counts and
titles that follow the change, what a trashed image offers, which view is on."""

from __future__ import annotations

import re
from typing import Any

import aiohttp

from tests.e2e.support import Api, Server, cli_value, expect, generate

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


async def test_an_error_keeps_only_the_details_that_add_to_it(page: Any, server: Server) -> None:
    await sign_in(page, server.base_url, server.tenant.token)
    said = await page.evaluate(
        """async (errors) => {
             const { ApiError } = await import('/app/static/api.js');
             return errors.map(([status, error]) => new ApiError(status, error).message);
           }""",
        [
            # the details say again what the message says
            [422, _error("expires_at must lie in the future", expires_at="must be in the future")],
            [
                409,
                _error(
                    "a published event's scheduled_at cannot change",
                    scheduled_at="published events keep their date",
                ),
            ],
            [422, _error("a tag is at most 50 characters", tags="tag longer than 50 characters")],
            [422, _error("title: must be a string", title="must be a string")],
            # the details add to it
            [
                422,
                _error(
                    "days must be a non-zero number of days",
                    days="a non-zero integer from -3650 to 3650",
                ),
            ],
            [
                422,
                _error(
                    "unknown time zone", time_zone="an IANA time zone name such as Europe/Berlin"
                ),
            ],
            [
                422,
                _error(
                    "title: must be a string (and 1 more)",
                    title="must be a string",
                    tags="must be a list",
                ),
            ],
            [429, _error("too many changes for this team; slow down", retry_after=3)],
        ],
    )
    assert said == [
        "expires_at must lie in the future",
        "a published event's scheduled_at cannot change",
        "a tag is at most 50 characters",
        "title: must be a string",
        "days must be a non-zero number of days (days: a non-zero integer from -3650 to 3650)",
        "unknown time zone (time_zone: an IANA time zone name such as Europe/Berlin)",
        "title: must be a string (and 1 more) (tags: must be a list)",
        "too many changes for this team; slow down (try again in 3 s)",
    ]


def _error(message: str, **details: Any) -> dict[str, Any]:
    return {"code": "validation_error", "message": message, "details": details}


async def test_a_refused_expiry_is_said_once_and_the_saved_one_stays(
    page: Any, server: Server, api: Api
) -> None:
    image = await generate(api, "a shared harbour with an expiry")
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    await page.goto(f"{server.base_url}/app/images/{image['id']}")
    await page.check("#share-on")
    await page.locator("#share-detail").wait_for()
    await page.fill("#share-expiry", "2099-01-01T10:00")
    await page.click("#share-save")
    await page.locator("#toast.show", has_text="Expiry saved.").wait_for()

    # a date in the past: the API's sentence once, no word of a saved expiry beside
    # it, and the box shows the expiry the share still has
    await page.fill("#share-expiry", "2020-01-01T10:00")
    await page.click("#share-save")
    error = page.locator("#share-error")
    await error.filter(has_text="future").wait_for()
    assert await error.text_content() == "expires_at must lie in the future"
    assert await page.locator("#toast.show").count() == 0
    assert await page.input_value("#share-expiry") == "2099-01-01T10:00"
    share = expect(await api.get(f"/v1/images/{image['id']}"), 200).data["share"]
    assert share["expires_at"] == "2099-01-01T10:00:00Z"
    assert problems == []


async def test_one_image_is_counted_as_one(page: Any, server: Server) -> None:
    cli_value("team", "create", "solo", "--credits", "100", data_dir=server.data_dir)
    token = cli_value("token", "create", "--team", "solo", data_dir=server.data_dir)
    async with aiohttp.ClientSession() as client:
        only = await generate(Api(client, server.base_url, token), "the only picture")
    page.on("dialog", lambda dialog: dialog.accept())
    await sign_in(page, server.base_url, token)
    gallery_count = page.locator("#gallery-title small")
    assert await gallery_count.text_content() == "1 image"

    # to the trash and back: both pages count as the page changes them
    await page.locator(f'.tile[data-id="{only["id"]}"] .pick').check()
    await page.click("#bulk-delete")
    await page.locator("#grid .tile").first.wait_for(state="detached")
    assert await gallery_count.text_content() == "0 images"
    await page.goto(server.base_url + "/app/trash")
    trash_count = page.locator("h1 small")
    assert await trash_count.text_content() == "1 image, each purged 30 days after deletion"
    await page.locator("#trash .restore").first.click()
    await page.locator("#trash .tile").first.wait_for(state="detached")
    assert await trash_count.text_content() == "0 images, each purged 30 days after deletion"

    # one generated on the page: two
    await page.goto(server.base_url + "/app")
    assert await gallery_count.text_content() == "1 image"
    await page.fill("#g-prompt", "a second picture")
    await page.click("#generate button[type=submit]")
    await gallery_count.filter(has_text="2 images").wait_for()


async def test_the_active_view_shows(page: Any, server: Server) -> None:
    await sign_in(page, server.base_url, server.tenant.token)
    await page.goto(f"{server.base_url}/app/projects/{server.tenant.project_id}/calendar")
    look = "(b) => { const s = getComputedStyle(b); return [s.backgroundColor, s.color]; }"
    month_on = await page.eval_on_selector("#view-month", look)
    week_off = await page.eval_on_selector("#view-week", look)
    assert month_on != week_off
    await page.click("#view-week")
    assert await page.eval_on_selector("#view-week", look) == month_on
    assert await page.eval_on_selector("#view-month", look) == week_off


async def test_the_date_filters_are_not_cut_off(page: Any, server: Server) -> None:
    await page.set_viewport_size({"width": 1280, "height": 860})
    await sign_in(page, server.base_url, server.tenant.token)
    for box in ("#f-from", "#f-to"):
        shown, needed = await page.eval_on_selector(
            box,
            """(input) => {
                 const probe = input.cloneNode();
                 probe.removeAttribute('id');
                 probe.style.width = 'auto';
                 document.body.append(probe);
                 const needed = probe.getBoundingClientRect().width;
                 probe.remove();
                 return [input.getBoundingClientRect().width, needed];
               }""",
        )
        assert shown >= needed, (box, shown, needed)


async def test_counts_follow_what_the_page_changes(page: Any, server: Server, api: Api) -> None:
    problems = watch(page)
    page.on("dialog", lambda dialog: dialog.accept())
    await generate(api, "a counted harbour")
    await sign_in(page, server.base_url, server.tenant.token)
    before = await api.total("/v1/images")
    assert await page.get_attribute("#image-count", "data-count") == str(before)

    # generate: one more
    await page.fill("#g-prompt", "a counted lighthouse")
    await page.click("#generate button[type=submit]")
    # the first tile was there before: wait for the new one to be counted (10 s at most)
    counted = "n => document.querySelector('#image-count').dataset.count === String(n)"
    await page.wait_for_function(counted, arg=before + 1, timeout=10_000)
    assert await page.locator("#grid .tile").count() == before + 1
    assert await page.locator("#empty").is_hidden()

    # trash everything on the page: the count says none, and so does the page
    for box in await page.locator("#grid .pick").all():
        await box.check()
    await page.click("#bulk-delete")
    await page.locator("#grid .tile").first.wait_for(state="detached")
    assert await page.get_attribute("#image-count", "data-count") == "0"
    assert await page.locator("#empty").is_visible()

    # the trash: restore one, delete the others forever; then it says it is empty
    await page.goto(server.base_url + "/app/trash")
    assert await page.get_attribute("#trash-count", "data-count") == str(before + 1)
    assert await page.locator("#trash-empty").is_hidden()
    await page.locator("#trash .restore").first.click()
    await _counted(page, str(before))
    while await page.locator("#trash .tile").count():
        left = int(await page.get_attribute("#trash-count", "data-count") or "0")
        await page.locator("#trash .forever").first.click()
        await _counted(page, str(left - 1))
    assert await page.get_attribute("#trash-count", "data-count") == "0"
    assert await page.locator("#trash-empty").is_visible()
    assert problems == []


async def _counted(page: Any, count: str) -> None:
    await page.wait_for_function(
        "(n) => document.getElementById('trash-count').dataset.count === n", arg=count
    )


async def test_a_tile_is_named_once_and_a_new_title_shows_everywhere(
    page: Any, server: Server, api: Api
) -> None:
    prompt = "an untitled quokka on a long sandy beach at the end of a summer afternoon"
    untitled = await generate(api, prompt)
    await generate(api, "a newer picture", title="Newer")
    name = prompt[:60]
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    # rendered by the server (the only match), then added by the script (page two)
    for url in ("/app?q=quokka", "/app?per_page=1"):
        await page.goto(server.base_url + url)
        tile = page.locator(f'.tile[data-id="{untitled["id"]}"]')
        await tile.wait_for()
        for role, label in (("link", name), ("checkbox", f"Select {name}")):
            await tile.get_by_role(role, name=label, exact=True).wait_for()
        await tile.get_by_role("button", name=f"Favourite {name}", exact=True).wait_for()

    # its page calls it by the same name: the heading and the window's title
    await page.goto(f"{server.base_url}/app/images/{untitled['id']}")
    assert await page.text_content("#image-title") == name
    assert await page.title() == f"{name} · Rankion"

    # a new title: the heading, the window's title and this image's node of the tree
    await page.fill("#m-title", "Quokka")
    await page.click("#meta-form button[type=submit]")
    # exactly: "Quokka" is in the old name too (has_text matches any case, anywhere)
    await page.locator("#image-title", has_text=re.compile(r"^Quokka$")).wait_for()
    assert await page.title() == "Quokka · Rankion"
    node = page.locator("#tree [aria-current=page] .node-name")
    assert await node.text_content() == "Quokka"
    await page.reload()
    assert await page.title() == "Quokka · Rankion"
    assert await node.text_content() == "Quokka"

    # the title taken away: the prompt names it again, on the page as on its reload
    await page.fill("#m-title", "")
    await page.click("#meta-form button[type=submit]")
    await page.locator("#image-title", has_text=name).wait_for()
    assert await page.title() == f"{name} · Rankion"
    assert problems == []


async def test_chat_and_a_trashed_images_share_say_what_is_so(
    page: Any, server: Server, api: Api
) -> None:
    shared = await generate(api, "a shared picture, then trashed")
    link = expect(await api.post(f"/v1/images/{shared['id']}/share"), 201).data["public_url"]
    plain = await generate(api, "a picture never shared, then trashed")
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)

    # open in chat: the session's record, linked
    await page.goto(f"{server.base_url}/app/images/{plain['id']}")
    await page.click("#chat")
    record = page.locator("#chat-session")
    await record.wait_for()
    session = expect(await api.get(await record.get_attribute("href") or ""), 200).data
    assert session["gallery_image_id"] == plain["id"]

    for image in (shared, plain):
        expect(await api.delete(f"/v1/images/{image['id']}"), 200)
    await page.goto(f"{server.base_url}/app/images/{shared['id']}")
    assert "restoring the image brings the same link back" in (
        await page.text_content("#share-trashed") or ""
    )
    await page.goto(f"{server.base_url}/app/images/{plain['id']}")
    assert "restore it first" in (await page.text_content("#share-trashed") or "")

    # and so it is: restored, the same link shows the image again
    expect(await api.post(f"/v1/images/{shared['id']}/restore"), 200)
    assert expect(await api.get(link), 200)
    assert problems == []
