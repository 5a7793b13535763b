"""The gallery in a real browser against a real server: sign in, generate with live
progress, favourite, filter, select three and export the ZIP, keyboard only; and the
guards: CSRF, another team's image, the CSP, sign-out and revocation."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import aiohttp
from PIL import Image, ImageStat

from tests.e2e.support import Api, Server, cli_value, expect, generate

from .conftest import SKIP, Holder, failed_image, sign_in, watch

pytestmark = SKIP


async def test_sign_in_generate_favourite_filter_and_export(
    page: Any, server: Server, api: Api
) -> None:
    for n in range(3):
        await generate(api, f"a harbour study number {n}", title=f"Harbour {n}", tags=["harbour"])
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    balance = int(await page.text_content("#balance") or "0")

    # generate: the new tile shows the job's states over SSE, then the image
    await page.fill("#g-prompt", "a lighthouse at dusk, watercolour")
    await page.fill("#g-title", "Lighthouse")
    await page.fill("#g-tags", "hero, launch")
    await page.click("#generate button[type=submit]")
    first = page.locator("#grid .tile").first
    await first.locator(".pending").wait_for()
    await first.locator("img").wait_for()
    assert int(await page.text_content("#balance") or "0") == balance - 5
    new_id = int(await first.get_attribute("data-id") or "0")
    assert expect(await api.get(f"/v1/images/{new_id}"), 200).data["title"] == "Lighthouse"

    # favourite, then the API agrees
    await first.locator(".fav-btn").click()
    await page.wait_for_selector(f'.tile[data-id="{new_id}"] .fav-btn[aria-pressed=true]')
    assert expect(await api.get(f"/v1/images/{new_id}"), 200).data["is_favorite"] is True

    # filter through the query string, same names as /v1/images
    await page.select_option("#f-fav", "true")
    await page.click("#filters button[type=submit]")
    await page.wait_for_url("**/app?favorite=true")
    assert await page.locator("#grid .tile").count() == 1
    await page.goto(server.base_url + "/app?tags[]=harbour")
    assert await page.locator("#grid .tile").count() == 3

    # select three, export: progress, then the download
    for box in await page.locator("#grid .pick").all():
        await box.check()
    assert await page.text_content("#selected-count") == "3 selected"
    await page.click("#bulk-export")
    link = page.locator("#export-download")
    await link.wait_for()
    async with page.expect_download() as waiting:
        await link.click()
    download = await waiting.value
    with zipfile.ZipFile(await download.path()) as archive:
        names = archive.namelist()
    assert "manifest.json" in names and len(names) == 4
    assert problems == []


async def test_keyboard_only(page: Any, server: Server, api: Api) -> None:
    await generate(api, "a keyboard study", title="Keys")
    await sign_in(page, server.base_url, server.tenant.token)
    await page.keyboard.press("Tab")  # the skip link comes first, visibly
    assert await page.evaluate("document.activeElement.className") == "skip"
    first = page.locator("#grid .tile .thumb").first
    await first.focus()
    await page.keyboard.press("ArrowRight")
    second_id = await page.evaluate("document.activeElement.closest('.tile').dataset.id")
    await page.keyboard.press("Space")
    assert await page.text_content("#selected-count") == "1 selected"
    pressed = f'.tile[data-id="{second_id}"] .fav-btn'
    before = await page.get_attribute(pressed, "aria-pressed")
    await page.keyboard.press("f")
    await page.wait_for_selector(
        f"{pressed}[aria-pressed={'false' if before == 'true' else 'true'}]"
    )
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    await page.keyboard.press("Enter")
    await page.wait_for_url(f"**/app/images/{second_id}")
    # every control has an accessible name
    unnamed = await page.evaluate(
        """[...document.querySelectorAll(
             'button, input:not([type=hidden]), select, textarea, a[href]')]
           .filter(e => !(e.getAttribute('aria-label') || e.labels?.length || e.textContent.trim()
                          || e.closest('label')))
           .map(e => e.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []


async def test_csrf_refused_and_csp_present(page: Any, server: Server, api: Api) -> None:
    image = await generate(api, "a csrf study")
    await sign_in(page, server.base_url, server.tenant.token)
    answer = await page.evaluate(
        """async (id) => {
             const r = await fetch('/v1/images/' + id + '/favorite', {method: 'POST'});
             return [r.status, (await r.json()).error.code];
           }""",
        image["id"],
    )
    assert answer == [403, "csrf_failed"]
    for path in ("/app", "/app/trash", f"/app/images/{image['id']}", "/app/sign-in"):
        reply = await page.request.get(server.base_url + path)
        csp = reply.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe" not in csp.split("style-src")[0]
        assert "unsafe-eval" not in csp and "unsafe-inline" not in csp


async def test_another_teams_image_is_the_404_page(
    page: Any, server: Server, api: Api, other_token: str
) -> None:
    async with aiohttp.ClientSession() as client:
        rival = Api(client, server.base_url, other_token)
        theirs = await generate(rival, "not yours")
    await sign_in(page, server.base_url, server.tenant.token)
    foreign = await page.goto(f"{server.base_url}/app/images/{theirs['id']}")
    foreign_body = await foreign.body()
    missing = await page.goto(f"{server.base_url}/app/images/999999999")
    assert foreign.status == missing.status == 404
    assert foreign_body == await missing.body()
    assert await page.text_content("h1") == "Not found"


async def test_sign_out_and_revocation_end_the_session(page: Any, server: Server) -> None:
    token = cli_value("token", "create", "--team", "e2e", data_dir=server.data_dir)
    await sign_in(page, server.base_url, token)
    cookies = await page.context.cookies()
    cookie = next(c for c in cookies if c["name"] == "rankion_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert token not in cookie["value"]
    await page.click(".signout button")
    await page.wait_for_url("**/app/sign-in")
    await sign_in(page, server.base_url, token)
    cli_value("token", "revoke", str(_token_id(server, token)), data_dir=server.data_dir)
    await page.wait_for_timeout(5_000)  # the contract: every process within 5 s
    await page.goto(server.base_url + "/app")
    assert page.url.endswith("/app/sign-in")


def _token_id(server: Server, token: str) -> int:
    """The id of ``token`` (``rk_{prefix}_…``), from ``rankion token list --json``."""
    out = cli_value("token", "list", "--team", "e2e", "--json", data_dir=server.data_dir)
    prefix = token.split("_")[1]
    return int(next(row["id"] for row in json.loads(out)["tokens"] if row["prefix"] == prefix))


async def test_placeholder_shows_while_the_thumbnail_loads(
    page: Any, server: Server, api: Api
) -> None:
    image = await generate(api, "a red kite over green hills", title="Kite")
    assert image["placeholder"]
    async with aiohttp.ClientSession() as client, client.get(image["thumbnail_url"]) as reply:
        thumbnail = Image.open(io.BytesIO(await reply.read())).convert("RGB")
    expected = ImageStat.Stat(thumbnail).mean
    problems = watch(page)
    thumbnails = Holder()
    # thumbnails answer only when let go (from the start: the browser caches them)
    await page.route("**/files/thumbnails/**", thumbnails.hold)
    await page.goto(server.base_url + "/app/sign-in")
    await page.fill("#token", server.tenant.token)
    await page.click("button[type=submit]", no_wait_after=True)
    await page.wait_for_url(server.base_url + "/app", wait_until="commit")
    thumb = page.locator(f'.tile[data-id="{image["id"]}"] .thumb')
    await thumb.and_(page.locator(".placeheld")).wait_for()
    # the placeholder is a data URL decoded from the ThumbHash: its average colour is
    # the thumbnail's
    drawn = await thumb.evaluate(
        """async (a) => {
             const url = getComputedStyle(a).backgroundImage.slice(5, -2);
             const img = new Image();
             img.src = url;
             await img.decode();
             const c = document.createElement('canvas');
             c.width = img.width; c.height = img.height;
             const g = c.getContext('2d');
             g.drawImage(img, 0, 0);
             const px = g.getImageData(0, 0, c.width, c.height).data;
             const sum = [0, 0, 0];
             for (let i = 0; i < px.length; i += 4) for (let k = 0; k < 3; k++) sum[k] += px[i + k];
             return {url: url.slice(0, 22), w: c.width, avg: sum.map((s) => s / (px.length / 4))};
           }"""
    )
    assert drawn["url"] == "data:image/png;base64,"
    assert drawn["w"] == 32
    assert all(abs(a - b) < 24 for a, b in zip(drawn["avg"], expected, strict=True)), (
        drawn["avg"],
        expected,
    )
    assert await thumb.evaluate("(a) => a.querySelector('img').complete") is False

    # the thumbnail arrives: the placeholder goes
    await thumbnails.let_go()
    await page.wait_for_function(
        "(id) => { const a = document.querySelector(`.tile[data-id='${id}'] .thumb`);"
        " return a.querySelector('img').naturalWidth > 0 && !a.classList.contains('placeheld')"
        " && a.style.backgroundImage === ''; }",
        arg=image["id"],
    )
    assert problems == []


async def test_the_balance_follows_a_failed_generations_refund(
    page: Any, server: Server, api: Api
) -> None:
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    await page.fill("#g-prompt", "a refused lighthouse [reject]")
    await page.click("#generate button[type=submit]")
    await page.locator("#grid .tile[data-status=failed]").first.wait_for()
    balance = expect(await api.get("/v1/credits"), 200).data["balance"]
    await page.wait_for_function(
        "(n) => document.getElementById('balance').textContent === String(n)", arg=balance
    )
    assert problems == []


async def test_an_export_says_which_images_it_skipped(page: Any, server: Server, api: Api) -> None:
    ready = await generate(api, "an exported harbour", title="Exported")
    failed = await failed_image(api, "a skipped harbour")
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    tile = page.locator(f'.tile[data-id="{failed["id"]}"]')
    name = await tile.locator(".name").text_content()

    # only the failed image: nothing to download, and the page says so
    await tile.locator(".pick").check()
    await page.click("#bulk-export")
    skipped = page.locator("#export-skipped")
    await skipped.wait_for()
    assert (await skipped.text_content() or "").startswith(f"Nothing exported: “{name}”")
    assert await page.locator("#export-download").count() == 0

    # with a ready one: the download, and the one skipped named beside it
    await page.locator(f'.tile[data-id="{ready["id"]}"] .pick').check()
    await page.click("#bulk-export")
    await page.locator("#export-download").wait_for()
    said = await skipped.text_content() or ""
    assert said.startswith(f"1 of 2 images exported; skipped “{name}”"), said
    assert problems == []


async def test_out_of_credits_is_said_to_a_person(page: Any, server: Server) -> None:
    cli_value("team", "create", "broke", "--credits", "3", data_dir=server.data_dir)
    token = cli_value("token", "create", "--team", "broke", data_dir=server.data_dir)
    await sign_in(page, server.base_url, token)
    await page.fill("#g-prompt", "a cat")
    await page.click("#generate button[type=submit]")
    error = page.locator("#g-error")
    await error.filter(has_text="credits").wait_for()
    said = await error.text_content() or ""
    assert said.startswith("Not enough credits: this needs 5 and your team has 3."), said
    assert "/v1/" not in said and "rankion" not in said


async def test_signing_in_from_a_link_opens_the_page_linked(
    page: Any, server: Server, api: Api
) -> None:
    project = server.tenant.project_id
    event = expect(
        await api.post(
            f"/v1/projects/{project}/calendar",
            {"title": "Linked from a feed", "scheduled_at": "2026-12-03T09:00:00Z"},
        ),
        201,
    ).data
    image = await generate(api, "a picture linked from a chat")
    problems = watch(page)
    # the ICS feed's URL: the calendar's month, the event in its fragment
    linked = f"{server.base_url}/app/projects/{project}/calendar?month=2026-12#event-{event['id']}"
    for url in (linked, f"{server.base_url}/app/images/{image['id']}"):
        await page.goto(url)
        await page.wait_for_url("**/app/sign-in?next=**")
        await page.fill("#token", server.tenant.token)
        await page.click("button[type=submit]")
        await page.wait_for_url(url)
        await page.context.clear_cookies()
    # the fragment came back too: the event is the page's target
    await page.goto(linked)
    await page.fill("#token", server.tenant.token)
    await page.click("button[type=submit]")
    await page.wait_for_url(linked)
    assert await page.locator(f"#event-{event['id']}:target").count() == 1
    await page.context.clear_cookies()

    # somewhere else than the app: the gallery
    await page.goto(f"{server.base_url}/app/sign-in?next=//example.com/app/")
    await page.fill("#token", server.tenant.token)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{server.base_url}/app")
    assert problems == []


async def test_every_tag_of_the_filter_is_kept(page: Any, server: Server, api: Api) -> None:
    both = await generate(api, "a tagged pair", tags=["kelp", "tide"])
    await generate(api, "a single tag", tags=["kelp"])
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    await page.goto(f"{server.base_url}/app?tags[]=kelp&tags[]=tide")
    assert await page.input_value("#f-tag") == "kelp, tide"
    async with page.expect_navigation():
        await page.click("#filters button[type=submit]")
    assert await page.input_value("#f-tag") == "kelp, tide"
    ids = [await t.get_attribute("data-id") for t in await page.locator("#grid .tile").all()]
    assert ids == [str(both["id"])]
    assert problems == []


async def test_a_new_image_the_filters_hide_is_named_in_a_note(
    page: Any, server: Server, api: Api
) -> None:
    await generate(api, "a favourite already", title="Fav")
    problems = watch(page)
    await sign_in(page, server.base_url, server.tenant.token)
    for query in ("favorite=true", "sort=oldest"):
        await page.goto(f"{server.base_url}/app?{query}")
        tiles = await page.locator("#grid .tile").count()
        count = await page.get_attribute("#image-count", "data-count")
        await page.fill("#g-prompt", f"made under {query}")
        await page.click("#generate button[type=submit]")
        note = page.locator("#g-note")
        await note.filter(has_text="not shown under the current filters").wait_for()
        href = await note.locator("a").get_attribute("href") or ""
        assert href.startswith("/app/images/")
        assert await page.locator(f'#grid .tile[data-id="{href.rsplit("/", 1)[1]}"]').count() == 0
        assert await page.locator("#grid .tile").count() == tiles
        assert await page.get_attribute("#image-count", "data-count") == count

    # a filter the new image meets: its tile, first
    await page.goto(f"{server.base_url}/app?favorite=false")
    await page.fill("#g-prompt", "made where it shows")
    await page.click("#generate button[type=submit]")
    await page.locator("#grid .tile").first.filter(has_text="made where it shows").wait_for()
    assert await page.locator("#g-note").is_hidden()
    assert problems == []
