"""The calendar in its project's time zone over HTTP: zones, local days, shift, day counts."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from .conftest import Api, ClientFactory, config, start


async def _zoned(api: Api, zone: str = "Europe/Berlin", **kw: Any) -> int:
    answer = await api.post("/v1/projects", {"name": "Blog", "time_zone": zone}, **kw)
    assert answer.status == 201, answer.body
    assert answer.data["time_zone"] == zone
    return int(answer.data["id"])


async def _event(api: Api, project: int, **body: Any) -> dict[str, Any]:
    answer = await api.post(f"/v1/projects/{project}/calendar", {"title": "Post", **body})
    assert answer.status == 201, answer.body
    return answer.data  # type: ignore[no-any-return]


async def _ids(api: Api, path: str) -> list[int]:
    answer = await api.get(path)
    assert answer.status == 200, answer.body
    return [e["id"] for e in answer.data]


async def test_projects_take_a_zone_and_patch_changes_it(flow_api: Api) -> None:
    api = flow_api
    plain = await api.project()
    assert (await api.get(f"/v1/projects/{plain}")).data["time_zone"] == "UTC"
    project = await _zoned(api, "America/New_York")
    patched = await api.call("PATCH", f"/v1/projects/{project}", {"time_zone": "Asia/Kolkata"})
    assert patched.status == 200, patched.body
    assert (patched.data["time_zone"], patched.data["name"]) == ("Asia/Kolkata", "Blog")
    renamed = await api.call("PATCH", f"/v1/projects/{project}", {"name": "Shop"})
    assert (renamed.data["time_zone"], renamed.data["name"]) == ("Asia/Kolkata", "Shop")
    assert (await api.get(f"/v1/projects/{project}")).data == renamed.data


@pytest.mark.parametrize(
    "zone", ["Mars/Olympus", "europe/berlin", "", "localtime", "../../etc/passwd", "A" * 65, 5]
)
async def test_an_unknown_zone_is_422(api: Api, zone: Any) -> None:
    made = await api.post("/v1/projects", {"name": "Blog", "time_zone": zone})
    assert made.status == 422, made.body
    assert "time_zone" in made.error["details"]
    project = await api.project()
    patched = await api.call("PATCH", f"/v1/projects/{project}", {"time_zone": zone})
    assert patched.status == 422 and "time_zone" in patched.error["details"]
    assert (await api.get(f"/v1/projects/{project}")).data["time_zone"] == "UTC"


async def test_patch_of_another_teams_project_is_the_missing_404(api: Api) -> None:
    theirs = await api.project(team=api.b)
    other = await api.call("PATCH", f"/v1/projects/{theirs}", {"name": "Mine"})
    missing = await api.call("PATCH", "/v1/projects/999999", {"name": "Mine"})
    assert other.status == missing.status == 404
    assert other.body == missing.body
    unknown = await api.call("PATCH", f"/v1/projects/{theirs}", {"owner": 1})
    assert unknown.status in (404, 422)
    assert (await api.get(f"/v1/projects/{theirs}", team=api.b)).data["name"] == "Blog"


async def test_events_carry_scheduled_local_in_the_projects_offset(flow_api: Api) -> None:
    api = flow_api
    project = await _zoned(api)
    summer = await _event(api, project, scheduled_at="2026-05-15T09:00:00Z")
    winter = await _event(api, project, scheduled_at="2026-01-15T09:00:00+00:00")
    idea = await _event(api, project, status="idea")
    assert summer["scheduled_local"] == "2026-05-15T11:00:00+02:00"
    assert winter["scheduled_local"] == "2026-01-15T10:00:00+01:00"
    assert idea["scheduled_local"] is None
    assert (await api.get(f"/v1/calendar/{summer['id']}")).data == summer
    await api.call("PATCH", f"/v1/projects/{project}", {"time_zone": "America/New_York"})
    moved = await api.get(f"/v1/calendar/{summer['id']}")
    assert moved.data["scheduled_at"] == "2026-05-15T09:00:00Z"
    assert moved.data["scheduled_local"] == "2026-05-15T05:00:00-04:00"
    listed = await api.get(f"/v1/projects/{project}/calendar")
    assert [e["scheduled_local"] for e in listed.data] == [
        "2026-01-15T04:00:00-05:00",
        "2026-05-15T05:00:00-04:00",
        None,
    ]


async def test_bare_dates_are_local_days_and_unscheduled_lists_ideas(flow_api: Api) -> None:
    api = flow_api
    project = await _zoned(api)
    # 23:30 UTC on the 14th is 01:30 on the 15th in Berlin; 22:30 UTC on the 15th is 00:30
    # on the 16th
    early = await _event(api, project, scheduled_at="2026-05-14T23:30:00Z")
    late = await _event(api, project, scheduled_at="2026-05-15T21:59:59Z")
    await _event(api, project, scheduled_at="2026-05-15T22:30:00Z")
    idea = await _event(api, project, status="idea")
    base = f"/v1/projects/{project}/calendar"
    assert await _ids(api, f"{base}?from=2026-05-15&to=2026-05-15") == [early["id"], late["id"]]
    assert await _ids(api, f"{base}?unscheduled=true") == [idea["id"]]
    assert len(await _ids(api, f"{base}?unscheduled=false")) == 4
    bad = await api.get(f"{base}?unscheduled=yes")
    assert bad.status == 422 and "unscheduled" in bad.error["details"]


async def test_shift_keeps_wall_clock_time_across_dst(flow_api: Api) -> None:
    api = flow_api
    project = await _zoned(api)
    # Friday 27 March 2026, 09:00 CET; Berlin moves to CEST on Sunday the 29th
    planned = await _event(api, project, scheduled_at="2026-03-27T08:00:00Z")
    scheduled = await _event(api, project, scheduled_at="2026-03-28T08:00:00Z", status="scheduled")
    published = await _event(api, project, scheduled_at="2026-03-27T10:00:00Z", status="published")
    cancelled = await _event(api, project, scheduled_at="2026-03-27T11:00:00Z", status="cancelled")
    outside = await _event(api, project, scheduled_at="2026-04-20T08:00:00Z")
    answer = await api.post(
        f"/v1/projects/{project}/calendar/shift",
        {"from": "2026-03-27", "to": "2026-03-28", "days": 7},
    )
    assert answer.status == 200, answer.body
    assert answer.data == {"moved": 2, "skipped": 2}

    async def local(event: dict[str, Any]) -> str:
        return str((await api.get(f"/v1/calendar/{event['id']}")).data["scheduled_local"])

    assert await local(planned) == "2026-04-03T09:00:00+02:00"
    assert await local(scheduled) == "2026-04-04T09:00:00+02:00"
    assert await local(published) == "2026-03-27T11:00:00+01:00"
    assert await local(cancelled) == "2026-03-27T12:00:00+01:00"
    assert await local(outside) == "2026-04-20T10:00:00+02:00"
    back = await api.post(
        f"/v1/projects/{project}/calendar/shift",
        {"from": "2026-04-03T00:00:00+02:00", "to": "2026-04-05", "days": -7},
    )
    assert back.data == {"moved": 2, "skipped": 0}
    assert await local(planned) == "2026-03-27T09:00:00+01:00"


async def test_shift_takes_statuses_and_is_all_or_nothing(flow_api: Api) -> None:
    api = flow_api
    project = await _zoned(api, "America/New_York")
    idea = await _event(api, project, scheduled_at="2026-06-01T13:00:00Z", status="idea")
    plan = await _event(api, project, scheduled_at="2026-06-02T13:00:00Z")
    base = f"/v1/projects/{project}/calendar/shift"
    only = await api.post(
        base, {"from": "2026-06-01", "to": "2026-06-30", "days": 1, "statuses": ["idea"]}
    )
    assert only.data == {"moved": 1, "skipped": 0}
    assert (await api.get(f"/v1/calendar/{idea['id']}")).data["scheduled_at"] == (
        "2026-06-02T13:00:00Z"
    )
    assert (await api.get(f"/v1/calendar/{plan['id']}")).data["scheduled_at"] == (
        "2026-06-02T13:00:00Z"
    )
    # one event would leave the supported years: nothing moves
    far = await _event(api, project, scheduled_at="9999-12-20T13:00:00Z")
    too_far = await api.post(base, {"from": "2026-01-01", "to": "9999-12-30", "days": 30})
    assert too_far.status == 422, too_far.body
    assert (await api.get(f"/v1/calendar/{plan['id']}")).data["scheduled_at"] == (
        "2026-06-02T13:00:00Z"
    )
    assert (await api.get(f"/v1/calendar/{far['id']}")).data["scheduled_at"] == (
        "9999-12-20T13:00:00Z"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "2026-01-02", "days": 1}, "from"),
        ({"from": "2026-01-01", "days": 1}, "to"),
        ({"from": "2026-01-01", "to": "2026-01-02"}, "days"),
        ({"from": "2026-01-01", "to": "2026-01-02", "days": 0}, "days"),
        ({"from": "2026-01-01", "to": "2026-01-02", "days": 10**6}, "days"),
        ({"from": "2026-01-01", "to": "2026-01-02", "days": "1"}, "days"),
        ({"from": "2026-01-02", "to": "2026-01-01", "days": 1}, "from"),
        ({"from": "yesterday", "to": "2026-01-01", "days": 1}, "from"),
        ({"from": "2026-01-01T00:00:00", "to": "2026-01-02", "days": 1}, "from"),
        ({"from": "2026-02-30", "to": "2026-03-01", "days": 1}, "from"),
        (
            {"from": "2026-01-01", "to": "2026-01-02", "days": 1, "statuses": ["bogus"]},
            "statuses[0]",
        ),
        ({"from": "2026-01-01", "to": "2026-01-02", "days": 1, "extra": 1}, "extra"),
    ],
)
async def test_bad_shift_bodies_are_422(api: Api, body: dict[str, Any], field: str) -> None:
    project = await _zoned(api)
    answer = await api.post(f"/v1/projects/{project}/calendar/shift", body)
    assert answer.status == 422, answer.body
    assert field in answer.error["details"], answer.error


async def test_shift_and_days_of_another_teams_project_are_the_missing_404(api: Api) -> None:
    theirs = await _zoned(api, team=api.b)
    made = await api.post(
        f"/v1/projects/{theirs}/calendar",
        {"title": "Theirs", "scheduled_at": "2026-05-15T09:00:00Z"},
        team=api.b,
    )
    assert made.status == 201
    body = {"from": "2026-05-01", "to": "2026-05-31", "days": 1}
    for path in (f"/v1/projects/{theirs}", "/v1/projects/999999"):
        shifted = await api.post(f"{path}/calendar/shift", body)
        days = await api.get(f"{path}/calendar/days?from=2026-05-01&to=2026-05-31")
        assert (shifted.status, days.status) == (404, 404)
    a = await api.post(f"/v1/projects/{theirs}/calendar/shift", body)
    b = await api.post("/v1/projects/999999/calendar/shift", body)
    assert a.body == b.body
    kept = await api.get(f"/v1/projects/{theirs}/calendar", team=api.b)
    assert kept.data[0]["scheduled_at"] == "2026-05-15T09:00:00Z"


async def test_days_counts_per_local_day_and_status(flow_api: Api) -> None:
    api = flow_api
    project = await _zoned(api, "America/New_York")
    # 2026-11-01: New York falls back at 02:00, the day lasts 25 hours
    for at, status in [
        ("2026-11-01T04:30:00Z", "planned"),  # 00:30 EDT on the 1st
        ("2026-11-02T04:59:00Z", "scheduled"),  # 23:59 EST on the 1st
        ("2026-11-02T05:00:00Z", "planned"),  # 00:00 EST on the 2nd
        ("2026-11-02T06:00:00Z", "planned"),
    ]:
        await _event(api, project, scheduled_at=at, status=status)
    await _event(api, project, status="idea")
    answer = await api.get(f"/v1/projects/{project}/calendar/days?from=2026-10-01&to=2026-11-30")
    assert answer.status == 200, answer.body
    assert answer.data == [
        {"date": "2026-11-01", "total": 2, "by_status": {"planned": 1, "scheduled": 1}},
        {"date": "2026-11-02", "total": 2, "by_status": {"planned": 2}},
    ]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "from=2026-01-01",
        "to=2026-01-01",
        "from=2026-01-01&to=2027-01-02",  # 367 days
        "from=2026-01-02&to=2026-01-01",
        "from=soon&to=2026-01-01",
        "from=0001-01-01&to=0001-01-02",
    ],
)
async def test_bad_day_ranges_are_422(api: Api, query: str) -> None:
    project = await _zoned(api, "Asia/Tokyo")
    answer = await api.get(f"/v1/projects/{project}/calendar/days?{query}")
    assert answer.status == 422, answer.body


@pytest.mark.parametrize(
    "query", ["from=2028-01-01&to=2028-12-31", "from=2026-01-01&to=2027-01-01"]
)
async def test_366_days_are_allowed(api: Api, query: str) -> None:
    project = await _zoned(api)
    answer = await api.get(f"/v1/projects/{project}/calendar/days?{query}")
    assert (answer.status, answer.data) == (200, [])


async def test_each_moved_event_sends_one_change(aiohttp_client: ClientFactory) -> None:
    api = await start(aiohttp_client, attrs.evolve(config(), webhooks_allow_private=True))
    project = await _zoned(api)
    for day in (1, 2, 3):
        await _event(api, project, scheduled_at=f"2026-05-0{day}T09:00:00Z")
    await _event(api, project, scheduled_at="2026-05-02T10:00:00Z", status="published")
    hook = await api.post(
        "/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["calendar.event.changed"]}
    )
    assert hook.status == 201, hook.body
    shifted = await api.post(
        f"/v1/projects/{project}/calendar/shift",
        {"from": "2026-05-01", "to": "2026-05-31", "days": 2},
    )
    assert shifted.data == {"moved": 3, "skipped": 1}
    deliveries = await api.get(f"/v1/webhooks/{hook.data['id']}/deliveries")
    assert len(deliveries.data) == 3
