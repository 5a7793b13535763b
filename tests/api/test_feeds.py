"""The iCalendar feed of a project: issued, rotated and revoked over the API, public
with its token, parsed back with ``icalendar``."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import attrs
import pytest
from dateutil.tz import tzical
from icalendar import Calendar

from rankion_core.models import CalendarEvent, EventStatus, EventType, Project
from rankion_core.rules import feeds as rules
from rankion_core.rules.limits import CALENDAR_PER_PAGE_MAX
from rankion_core.services.feeds import FeedContent
from rankion_core.testing.builders import T0
from rankion_server.ics import FEED_CACHE, FEED_FRESH, FeedCache, render

from .conftest import Answer, Api, ClientFactory, Team, config, relative, start
from .test_web import page, sign_in


async def issue(api: Api, project: int, team: Team | None = None) -> dict[str, Any]:
    answer = await api.post(f"/v1/projects/{project}/calendar/feed-token", team=team)
    assert answer.status == 201, answer.body
    return answer.data  # type: ignore[no-any-return]


async def feed(api: Api, project: int, token: str) -> Answer:
    return await api.get(f"/v1/projects/{project}/calendar.ics?token={token}", anonymous=True)


async def add_event(api: Api, project: int, **body: Any) -> dict[str, Any]:
    answer = await api.post(f"/v1/projects/{project}/calendar", body)
    assert answer.status == 201, answer.body
    return answer.data  # type: ignore[no-any-return]


def vevents(answer: Answer) -> dict[str, Any]:
    """The feed's events by SUMMARY."""
    calendar = Calendar.from_ical(answer.body)
    return {str(e["summary"]): e for e in calendar.walk("VEVENT")}


async def test_the_feed_lists_dated_events_with_every_field(api: Api) -> None:
    project = await api.project()
    launch = await add_event(
        api,
        project,
        title="AI Coding Tools — Launch Post",
        scheduled_at="2026-05-15T11:00:00+02:00",
        status="scheduled",
        notes="Hero image from the gallery;\nthen social posts.",
    )
    await add_event(api, project, title="Newsletter", scheduled_at="2026-05-20T08:00:00Z")
    await add_event(
        api, project, title="Old post", scheduled_at="2026-01-01T08:00:00Z", status="cancelled"
    )
    await add_event(api, project, title="Someday", status="idea")
    issued = await issue(api, project)

    answer = await api.fetch(issued["url"])
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"] == "text/calendar; charset=utf-8"
    calendar = Calendar.from_ical(answer.body)
    assert str(calendar["version"]) == "2.0"
    assert str(calendar["x-wr-calname"]) == "Blog"
    events = vevents(answer)
    assert set(events) == {"AI Coding Tools — Launch Post", "Newsletter", "Old post"}
    post = events["AI Coding Tools — Launch Post"]
    assert post.decoded("dtstart") == datetime(2026, 5, 15, 9, 0, tzinfo=UTC)
    assert b"DTSTART:20260515T090000Z" in answer.body  # UTC, not a floating time
    assert post.decoded("dtstamp").utcoffset().total_seconds() == 0
    assert str(post["uid"]) == f"event-{launch['id']}@127.0.0.1"
    assert str(post["status"]) == "CONFIRMED"
    assert str(post["description"]) == "Hero image from the gallery;\nthen social posts."
    base = api.rankion.deps.base_url  # the configured public URL (here, the default)
    assert str(post["url"]) == (
        f"{base}/app/projects/{project}/calendar?month=2026-05#event-{launch['id']}"
    )
    assert str(events["Newsletter"]["status"]) == "TENTATIVE"
    assert str(events["Old post"]["status"]) == "CANCELLED"
    assert "description" not in events["Newsletter"]


async def test_issuing_answers_the_token_once_and_its_url(api: Api) -> None:
    project = await api.project()
    issued = await issue(api, project)
    token = issued["token"]
    assert rules.plausible(token)
    assert len(token) >= 4 + 43  # 256 bits, URL-safe base64
    url = urlsplit(issued["url"])
    assert url.path == f"/v1/projects/{project}/calendar.ics"
    assert parse_qs(url.query) == {"token": [token]}


async def test_the_token_is_stored_as_a_digest_only(api: Api) -> None:
    project = await api.project()
    token = (await issue(api, project))["token"]
    async with api.rankion.deps.storage.unit_of_work() as uow:
        stored = await uow.calendar_feeds.get(api.a.id, project)
    assert stored is not None
    assert stored.digest == rules.digest(token)
    assert token not in repr(attrs.asdict(stored))


async def test_rotating_invalidates_the_old_token(api: Api) -> None:
    project = await api.project()
    first = (await issue(api, project))["token"]
    second = (await issue(api, project))["token"]
    assert first != second
    assert (await feed(api, project, first)).status == 404
    assert (await feed(api, project, second)).status == 200


async def test_revoking_closes_the_feed(api: Api) -> None:
    project = await api.project()
    token = (await issue(api, project))["token"]
    path = f"/v1/projects/{project}/calendar/feed-token"
    assert (await api.call("DELETE", path)).status == 204
    assert (await feed(api, project, token)).status == 404
    again = await api.call("DELETE", path)
    assert again.status == 204  # idempotent: no token left is what was asked for
    never = await api.project()
    assert (await api.call("DELETE", f"/v1/projects/{never}/calendar/feed-token")).status == 204
    missing = await api.call("DELETE", "/v1/projects/987654321/calendar/feed-token")
    theirs = await api.project(api.b)
    foreign = await api.call("DELETE", f"/v1/projects/{theirs}/calendar/feed-token")
    assert missing.status == foreign.status == 404
    assert missing.body == foreign.body
    assert missing.json["error"]["message"] == "project not found"


async def test_every_bad_token_gets_the_same_404(api: Api) -> None:
    project = await api.project()
    other = await api.project(name="Shop")
    theirs = await api.project(team=api.b, name="News")
    token = (await issue(api, project))["token"]
    their_token = (await issue(api, theirs, team=api.b))["token"]
    answers = [
        await feed(api, project, token[:-1] + ("A" if token[-1] != "A" else "B")),
        await feed(api, project, "rkf_" + "x" * 43),
        await feed(api, project, ""),
        await api.get(f"/v1/projects/{project}/calendar.ics", anonymous=True),
        await feed(api, project, "not%20a%20token"),
        await feed(api, other, token),  # another project of the same team
        await feed(api, project, their_token),  # another team's token
        await feed(api, 999_999, token),  # no such project
        await feed(api, 0, token),  # no id a project can have
        await feed(api, 2**63, token),
    ]
    assert {a.status for a in answers} == {404}
    assert len({a.body for a in answers}) == 1
    assert answers[0].error["code"] == "not_found"


@pytest.mark.parametrize("method", ["POST", "DELETE"])
async def test_the_token_routes_are_team_scoped(api: Api, method: str) -> None:
    theirs = await api.project(team=api.b, name="News")
    answer = await api.call(method, f"/v1/projects/{theirs}/calendar/feed-token")
    missing = await api.call(method, "/v1/projects/999999/calendar/feed-token")
    assert (answer.status, answer.body) == (404, missing.body)
    anonymous = await api.call(method, f"/v1/projects/{theirs}/calendar/feed-token", anonymous=True)
    assert anonymous.status == 401


async def test_an_empty_calendar_is_a_valid_feed(api: Api) -> None:
    project = await api.project()
    answer = await api.fetch((await issue(api, project))["url"])
    assert answer.status == 200
    assert list(Calendar.from_ical(answer.body).walk("VEVENT")) == []


@pytest.mark.parametrize("name", ["Blog\nX-INJECTED:1", "Blog\rX-INJECTED:1", "B\r\nX-INJECTED:1"])
async def test_a_line_break_in_the_projects_name_stays_in_its_name(api: Api, name: str) -> None:
    project = await api.project(name=name)
    await add_event(api, project, title="Launch", scheduled_at="2030-01-01T09:00:00Z")
    answer = await api.fetch((await issue(api, project))["url"])
    assert answer.status == 200
    lines = answer.body.decode().splitlines()  # as lenient readers split: at a bare CR too
    assert not [line for line in lines if line.startswith("X-INJECTED")]
    (calname,) = [line for line in lines if line.startswith("X-WR-CALNAME:")]
    assert calname.endswith("\\nX-INJECTED:1")
    assert list(vevents(answer)) == ["Launch"]


async def test_a_long_calendar_is_read_page_by_page(api: Api) -> None:
    project = await api.project()
    at = datetime(2026, 6, 1, tzinfo=UTC)
    async with api.rankion.deps.storage.unit_of_work() as uow:
        for n in range(2 * CALENDAR_PER_PAGE_MAX + 3):
            await uow.events.add(
                CalendarEvent(
                    0,
                    api.a.id,
                    project,
                    f"slot {n}",
                    EventType.ARTICLE,
                    EventStatus.PLANNED,
                    at,
                    None,
                    None,
                    at,
                    at,
                )
            )
        await uow.commit()
    answer = await api.fetch((await issue(api, project))["url"])
    assert len(vevents(answer)) == 2 * CALENDAR_PER_PAGE_MAX + 3


async def test_past_its_bound_a_feed_holds_the_events_from_a_year_ago_on(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rules, "FEED_EVENTS_MAX", 3)
    project = await api.project()
    now = api.clock.now()
    when = [now - timedelta(days=800), now - timedelta(days=400)]
    when += [now - timedelta(days=30), now + timedelta(days=1), now + timedelta(days=9)]
    for n, at in enumerate(when):
        slot = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        await add_event(api, project, title=f"slot {n}", scheduled_at=slot)
    await add_event(api, project, title="idea", status="idea")
    url = (await issue(api, project))["url"]
    assert sorted(vevents(await api.fetch(url))) == ["slot 2", "slot 3", "slot 4"]
    monkeypatch.setattr(rules, "FEED_EVENTS_MAX", 5)  # all of them fit
    later(api, FEED_FRESH)
    assert sorted(vevents(await api.fetch(url))) == [f"slot {n}" for n in range(5)]


def later(api: Api, seconds: float) -> None:
    """The feed cache's clock ``seconds`` on."""
    cache = api.client.app[FEED_CACHE]
    now = cache.clock()
    cache.clock = lambda: now + seconds


async def test_a_feed_polled_again_soon_is_served_as_kept_but_its_token_checked(
    api: Api,
) -> None:
    project = await api.project()
    made = await add_event(api, project, title="Launch", scheduled_at="2030-01-01T09:00:00Z")
    url = (await issue(api, project))["url"]
    first = await api.fetch(url)
    await api.call("PUT", f"/v1/calendar/{made['id']}", {"title": "Renamed"})
    assert (await api.fetch(url)).body == first.body  # its events not read again
    later(api, FEED_FRESH)
    assert list(vevents(await api.fetch(url))) == ["Renamed"]
    await api.call("DELETE", f"/v1/projects/{project}/calendar/feed-token")
    assert (await api.fetch(url)).status == 404  # revoked: at once, kept or not


async def test_the_feed_cache_keeps_at_most_its_bytes() -> None:
    one = len(render(FeedContent(Project(1, 1, "x", T0), []), "http://h"))
    cache = FeedCache(size=10, max_bytes=2 * one + 10)
    for n in range(1, 5):
        await cache.render(FeedContent(Project(n, 1, "x", T0), []), "http://h")
        assert cache.bytes <= 2 * one + 10
    assert cache.bytes == 2 * one


async def test_the_token_post_takes_an_empty_body_only(api: Api) -> None:
    project = await api.project()
    path = f"/v1/projects/{project}/calendar/feed-token"
    assert (await api.post(path, {})).status == 201
    extra = await api.post(path, {"token": "rkf_chosen_by_me_and_long_enough_to_pass"})
    assert extra.status == 422
    assert extra.error["details"] == {"token": "unknown field"}


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York"])
async def test_the_feed_shows_the_projects_local_times(api: Api, zone: str) -> None:
    made = await api.post("/v1/projects", {"name": "Blog", "time_zone": zone})
    project = made.data["id"]
    local: dict[str, str] = {}
    # both sides of the March and the October/November transitions
    for at in (
        "2026-03-07T14:00:00Z",
        "2026-03-30T14:00:00Z",
        "2026-10-24T14:00:00Z",
        "2026-11-02T14:00:00Z",
    ):
        event = await add_event(api, project, title="Post", scheduled_at=at)
        local[f"event-{event['id']}"] = event["scheduled_local"]
    answer = await feed(api, project, (await issue(api, project))["token"])
    calendar = Calendar.from_ical(answer.body)
    (vtimezone,) = calendar.walk("VTIMEZONE")
    assert str(vtimezone["TZID"]) == zone
    assert calendar["X-WR-TIMEZONE"] == zone
    rules_of_feed = vtimezone.to_tz(lookup_tzid=False)  # its own rules, not the zone by name
    shown: dict[str, str] = {}
    by_vtimezone: dict[str, str] = {}
    for vevent in calendar.walk("VEVENT"):
        assert vevent["DTSTART"].params["TZID"] == zone
        start = vevent.decoded("DTSTART")
        uid = str(vevent["UID"]).split("@")[0]
        shown[uid] = start.isoformat()
        wall = start.replace(tzinfo=None)
        by_vtimezone[uid] = wall.replace(tzinfo=rules_of_feed).astimezone(UTC).isoformat()
    assert shown == local
    assert by_vtimezone == {
        uid: datetime.fromisoformat(at).astimezone(UTC).isoformat() for uid, at in local.items()
    }
    assert f"DTSTART;TZID={zone}:20260330T".encode() in answer.body


@pytest.mark.parametrize("zone", ["America/New_York", "Africa/Casablanca", "Australia/Lord_Howe"])
async def test_the_feeds_vtimezone_holds_in_every_year_of_its_events(api: Api, zone: str) -> None:
    """Read with the feed's own VTIMEZONE — by dateutil from the text and by icalendar,
    never by the zone's name — each event's local time is the event's instant: before
    1970, after 2037 (standard and summer time), in Casablanca's Ramadan hour, in the
    first and last of the zoned years; outside them (the ends of the years the API
    takes) an event is written in UTC."""
    made = await api.post("/v1/projects", {"name": "Far", "time_zone": zone})
    project = made.data["id"]
    instants = [
        "0001-01-01T01:00:00Z",
        "0001-01-03T12:00:00Z",
        "1960-01-15T15:00:00Z",
        "1960-07-01T14:00:00Z",
        "2029-02-01T12:00:00Z",
        "2040-01-15T15:00:00Z",
        "2040-07-01T10:00:00Z",
        "2100-01-15T15:00:00Z",
        "2100-07-01T10:00:00Z",
        "1900-01-01T12:00:00Z",
        "2199-12-31T12:00:00Z",
        "2200-01-01T00:00:00Z",
        "9999-12-30T12:00:00Z",
        "9999-12-31T23:00:00Z",
    ]
    for at in instants:
        await add_event(api, project, title=at, scheduled_at=at)
    answer = await feed(api, project, (await issue(api, project))["token"])
    calendar = Calendar.from_ical(answer.body)
    (vtimezone,) = calendar.walk("VTIMEZONE")
    text = vtimezone.to_ical().decode()
    assert "RRULE" not in text  # every onset is listed: nothing for a reader to extend
    readers = [tzical(io.StringIO(text)).get(zone), vtimezone.to_tz(lookup_tzid=False)]
    in_utc = []
    for vevent in calendar.walk("VEVENT"):
        expected = datetime.fromisoformat(str(vevent["SUMMARY"]))
        if "TZID" not in vevent["DTSTART"].params:  # outside the zoned years
            assert vevent.decoded("DTSTART") == expected
            in_utc.append(expected)
            continue
        assert vevent["DTSTART"].params["TZID"] == zone
        wall = vevent.decoded("DTSTART").replace(tzinfo=None)
        assert wall == expected.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        for rules_of_feed in readers:
            assert wall.replace(tzinfo=rules_of_feed).astimezone(UTC) == expected, rules_of_feed
    assert sorted(at.year for at in in_utc) == [1, 1, 2200, 9999, 9999]


async def test_each_events_url_opens_its_month_in_the_web_app(
    aiohttp_client: ClientFactory,
) -> None:
    """URL: the event's month of the project's zone in the web app, absolute from the
    configured public URL, marking the event; signed in, the page shows it."""
    cfg = attrs.evolve(config(), public_url="http://cal.example.com/")
    api = await start(aiohttp_client, cfg)
    made = await api.post("/v1/projects", {"name": "Blog", "time_zone": "Europe/Berlin"})
    project = made.data["id"]
    # 31 May, 23:30 UTC is 1 June, 01:30 in Berlin: the month is June's
    late = await add_event(api, project, title="Late", scheduled_at="2026-05-31T23:30:00Z")
    answer = await api.fetch((await issue(api, project))["url"])
    url = str(vevents(answer)["Late"]["url"])
    where = f"/app/projects/{project}/calendar?month=2026-06"
    assert url == f"http://cal.example.com{where}#event-{late['id']}"
    status, html, _ = await page(api, relative(url), await sign_in(api))
    assert status == 200, html
    assert f'id="event-{late["id"]}"' in html
    assert "June 2026" in html
    status, _, headers = await page(api, relative(url), None)  # signed out: back here after
    signing_in, _, back = headers["Location"].partition("?")
    assert (status, signing_in, parse_qs(back)) == (303, "/app/sign-in", {"next": [where]})


async def test_without_the_web_app_the_feed_has_no_urls(aiohttp_client: ClientFactory) -> None:
    """An API served without the web app has no page to point at: no URL at all."""
    api = await start(aiohttp_client, config(), web_app=False)
    project = await api.project()
    await add_event(api, project, title="Post", scheduled_at="2026-05-15T09:00:00Z")
    answer = await api.fetch((await issue(api, project))["url"])
    assert answer.status == 200
    assert "url" not in vevents(answer)["Post"]
    assert b"\r\nURL" not in answer.body
