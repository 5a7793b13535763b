"""What the app's pages render from their query: the filters a page applies (and hands
to its script for the next page), the calendar at the ends of the years a date holds,
and a page past the end of the gallery."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from rankion_core.models import Actor, LedgerEntry

from .conftest import Api
from .test_web import page, sign_in


def more_href(html: str) -> str | None:
    found = re.search(r'<a id="more" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


async def test_the_next_page_asks_for_exactly_the_filters_the_page_applied(api: Api) -> None:
    for n in range(3):
        await api.generate(run=n == 2, prompt=f"picture {n}")
    cookie = await sign_in(api)
    decorated = "utm_source=newsletter&per_page=2&sort=&favorite=&tags[]=&q=+"
    status, html, _ = await page(api, f"/app?{decorated}", cookie)
    assert status == 200
    assert more_href(html) == "/app?per_page=2&page=2"
    # the script asks /v1/images with the link's query: the API takes it
    jar = {"Cookie": f"rankion_session={cookie}"}
    answer = await api.get("/v1/images?per_page=2&page=2", anonymous=True, headers=jar)
    assert answer.status == 200 and len(answer.data) == 1
    # filters the page applied stay, in the API's names
    _, html, _ = await page(api, "/app?per_page=1&sort=oldest&utm_medium=x", cookie)
    assert more_href(html) == "/app?per_page=1&sort=oldest&page=2"


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "0000-01", "10000-01"])
async def test_a_month_the_calendar_cannot_draw_is_a_422_page(api: Api, month: str) -> None:
    project = await api.project()
    cookie = await sign_in(api)
    status, html, _ = await page(api, f"/app/projects/{project}/calendar?month={month}", cookie)
    assert status == 422
    assert "month must be YYYY-MM" in html


@pytest.mark.parametrize(
    ("month", "gone"), [("0001-02", "Previous month"), ("9999-11", "Next month")]
)
async def test_the_calendar_at_the_limits_links_no_further(api: Api, month: str, gone: str) -> None:
    project = await api.project()
    cookie = await sign_in(api)
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14 and UTC-11
        update = await api.call("PATCH", f"/v1/projects/{project}", {"time_zone": zone})
        assert update.status == 200, update.body
        status, html, _ = await page(api, f"/app/projects/{project}/calendar?month={month}", cookie)
        assert status == 200, html
        assert f'aria-label="{gone}"' not in html
        links = re.findall(r'href="\?month=([^"&]+)"', html)
        for linked in links:  # every month it links to opens
            status, _, _ = await page(
                api, f"/app/projects/{project}/calendar?month={linked}", cookie
            )
            assert status == 200, linked


async def test_a_page_past_the_end_says_so_and_links_to_the_first(api: Api) -> None:
    await api.generate(prompt="one picture")
    cookie = await sign_in(api)
    status, html, _ = await page(api, "/app?page=99&sort=oldest&utm_source=x", cookie)
    assert status == 200
    assert "No images yet" not in html
    assert "past the end" in html
    assert 'href="/app?sort=oldest"' in html


async def test_the_sign_in_error_is_plain_text(api: Api) -> None:
    async with api.client.post("/app/sign-in", data={"token": "rk_nope"}) as resp:
        html = await resp.text()
    (message,) = re.findall(r'<p class="error" role="alert" id="sign-in-error">([^<]+)</p>', html)
    assert "`" not in message and "rankion token create" in message


async def test_the_icon_is_where_browsers_look_for_it(api: Api) -> None:
    async with api.client.get("/favicon.ico") as resp:
        assert resp.status == 200
        assert resp.content_type == "image/svg+xml"
        assert (await resp.read()).startswith(b"<svg")
        assert resp.headers["Cache-Control"] == "no-cache"


async def test_a_trashed_image_offers_only_what_applies_in_the_trash(api: Api) -> None:
    image = await api.generate(title="Kept")
    assert (await api.post(f"/v1/images/{image}/share")).status == 201
    cookie = await sign_in(api)
    offered = ('id="chat"', 'id="share-on"', 'id="share-save"', 'id="trash"')
    _, html, _ = await page(api, f"/app/images/{image}", cookie)
    assert all(control in html for control in offered)
    assert (await api.call("DELETE", f"/v1/images/{image}")).status == 200
    _, html, _ = await page(api, f"/app/images/{image}", cookie)
    assert not any(control in html for control in offered)
    assert 'id="restore"' in html and 'id="share-trashed"' in html


async def test_an_image_page_follows_its_job_however_many_charges_came_since(api: Api) -> None:
    """The page finds the job drawing an image by the image's own charge, not among
    the ledger's newest entries: 150 entries after it still leave it found."""
    answer = await api.post("/v1/generate/image", {"prompt": "a slow lighthouse"})
    assert answer.status == 202, answer.body
    image, job = answer.data["image_id"], answer.data["job_id"]
    async with api.rankion.deps.storage.unit_of_work() as uow:
        (charge,), _ = await uow.ledger.list(api.a.id, 1, 1)
        for n in range(150):
            at = charge.created_at + timedelta(seconds=n + 1)
            await uow.ledger.add(LedgerEntry(0, api.a.id, 1, "grant", at))
        await uow.commit()
    cookie = await sign_in(api)
    _, html, _ = await page(api, f"/app/images/{image}", cookie)
    assert f'data-job="{job}"' in html
    # another team learns nothing of it: no job, as for an image that does not exist
    jobs = api.rankion.jobs
    assert await jobs.drawing(Actor(team_id=api.b.id), image) is None
    assert await jobs.drawing(Actor(team_id=api.a.id), image + 1000) is None
    await api.run_jobs()  # drawn: nothing left to follow
    _, html, _ = await page(api, f"/app/images/{image}", cookie)
    assert "data-job=" not in html
