"""The editorial calendar over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from attrs import evolve

from rankion_core.rules.timeutil import iso_z
from rankion_core.webhooks import Webhook
from rankion_server.app import create_app
from rankion_server.keys import RANKION

from .conftest import NO_BODY, Api, ClientFactory, config

SEED = {
    "title": "AI Coding Tools — Launch Post",
    "scheduled_at": "2026-05-15T09:00:00Z",
    "article_id": 88,
    "status": "scheduled",
}


async def _event(api: Api, project: int, **body: Any) -> dict[str, Any]:
    answer = await api.post(f"/v1/projects/{project}/calendar", {"title": "Post", **body})
    assert answer.status == 201, answer.body
    return answer.data  # type: ignore[no-any-return]


async def test_the_seed_example_works(api: Api) -> None:
    project = await api.project()
    answer = await api.post(f"/v1/projects/{project}/calendar", SEED)
    assert answer.status == 201
    event = answer.data
    assert answer.headers["Location"] == f"/v1/calendar/{event['id']}"
    assert event["title"] == SEED["title"]
    assert event["scheduled_at"] == "2026-05-15T09:00:00Z"
    assert event["article_id"] == 88
    assert event["status"] == "scheduled"
    assert event["type"] == "article"
    assert event["project_id"] == project
    assert event["notes"] is None
    assert set(event) == {
        "id",
        "project_id",
        "title",
        "type",
        "status",
        "scheduled_at",
        "scheduled_local",
        "article_id",
        "notes",
        "created_at",
        "updated_at",
    }
    assert event["scheduled_local"] == "2026-05-15T09:00:00+00:00"
    assert (await api.get(f"/v1/calendar/{event['id']}")).data == event


async def test_offsets_are_accepted_and_answered_in_utc(api: Api) -> None:
    project = await api.project()
    event = await _event(api, project, scheduled_at="2026-05-15T11:30:00+02:00")
    assert event["scheduled_at"] == "2026-05-15T09:30:00Z"
    assert event["created_at"].endswith("Z")
    lower = await _event(api, project, scheduled_at="2026-05-15t09:30:00z")  # RFC 3339 allows
    assert lower["scheduled_at"] == "2026-05-15T09:30:00Z"
    listed = await api.get(f"/v1/projects/{project}/calendar?from=2026-05-15t09:30:00z")
    assert [e["id"] for e in listed.data] == [event["id"], lower["id"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scheduled_at": "2026-05-15T09:00:00"}, "scheduled_at"),
        ({"scheduled_at": "next tuesday"}, "scheduled_at"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"type": "blog"}, "type"),
        ({"status": "done"}, "status"),
        ({"article_id": "88"}, "article_id"),
        ({"article_id": 0}, "article_id"),
        ({"notes": 5}, "notes"),
        ({"owner_id": 1}, "owner_id"),
        ({"status": "planned", "scheduled_at": None}, "scheduled_at"),
    ],
)
async def test_create_validation(api: Api, body: dict[str, Any], field: str) -> None:
    project = await api.project()
    answer = await api.post(
        f"/v1/projects/{project}/calendar", {"title": "Post", "status": "idea", **body}
    )
    assert answer.status == 422, answer.body
    assert field in answer.error["details"]


async def test_title_is_required(api: Api) -> None:
    project = await api.project()
    answer = await api.post(f"/v1/projects/{project}/calendar", {"status": "idea"})
    assert answer.status == 422
    assert answer.error["details"] == {"title": "required field missing"}


async def test_an_idea_may_have_no_date(api: Api) -> None:
    project = await api.project()
    event = await _event(api, project, status="idea")
    assert event["scheduled_at"] is None


async def test_list_is_ordered_and_filtered(api: Api) -> None:
    project = await api.project()
    late = await _event(api, project, scheduled_at="2026-06-01T10:00:00Z", type="video")
    idea = await _event(api, project, status="idea")
    early = await _event(api, project, scheduled_at="2026-05-01T08:00:00Z", status="scheduled")
    same_day = await _event(api, project, scheduled_at="2026-05-01T23:59:00Z")
    path = f"/v1/projects/{project}/calendar"
    everything = await api.get(path)
    assert [e["id"] for e in everything.data] == [
        early["id"],
        same_day["id"],
        late["id"],
        idea["id"],
    ]
    assert everything.json["meta"] == {
        "page": 1,
        "per_page": 100,
        "total": 4,
        "last_page": 1,
        "total_exact": True,
    }
    day = await api.get(path + "?from=2026-05-01&to=2026-05-01")
    assert [e["id"] for e in day.data] == [early["id"], same_day["id"]]
    videos = await api.get(path + "?type=video,podcast")
    assert [e["id"] for e in videos.data] == [late["id"]]
    statuses = await api.get(path + "?status=idea,scheduled")
    assert {e["id"] for e in statuses.data} == {idea["id"], early["id"]}
    paged = await api.get(path + "?per_page=500&page=2")
    assert paged.data == [] and paged.json["meta"]["last_page"] == 1


@pytest.mark.parametrize(
    "query",
    [
        "per_page=0",
        "per_page=501",
        "page=0",
        "page=x",
        "from=yesterday",
        "to=2026-13-01",
        "from=2026-05-01T00:00:00",
        "status=bogus",
        "status=idea,",
        "type=blog",
        "from=2026-05-02&to=2026-05-01",
    ],
)
async def test_bad_list_queries_are_422(api: Api, query: str) -> None:
    project = await api.project()
    answer = await api.get(f"/v1/projects/{project}/calendar?{query}")
    assert answer.status == 422, query
    assert answer.error["details"]


async def test_put_changes_only_what_is_sent(api: Api) -> None:
    project = await api.project()
    event = await _event(
        api, project, notes="draft", article_id=7, scheduled_at=SEED["scheduled_at"]
    )
    answer = await api.call("PUT", f"/v1/calendar/{event['id']}", {"title": "New"})
    assert answer.status == 200
    changed = answer.data
    assert changed["title"] == "New"
    assert (changed["notes"], changed["article_id"]) == ("draft", 7)
    assert changed["scheduled_at"] == event["scheduled_at"]
    cleared = await api.call(
        "PUT", f"/v1/calendar/{event['id']}", {"notes": None, "article_id": None}
    )
    assert (cleared.data["notes"], cleared.data["article_id"]) == (None, None)


async def test_put_null_date_needs_idea(api: Api) -> None:
    project = await api.project()
    event = await _event(api, project, scheduled_at=SEED["scheduled_at"])
    path = f"/v1/calendar/{event['id']}"
    refused = await api.call("PUT", path, {"scheduled_at": None})
    assert refused.status == 422
    assert "scheduled_at" in refused.error["details"]
    ok = await api.call("PUT", path, {"scheduled_at": None, "status": "idea"})
    assert ok.status == 200
    assert ok.data["scheduled_at"] is None


async def test_an_idea_without_date_needs_one_to_move_on(api: Api) -> None:
    project = await api.project()
    idea = await _event(api, project, status="idea")
    path = f"/v1/calendar/{idea['id']}"
    refused = await api.call("PUT", path, {"status": "planned"})
    assert refused.status == 422
    assert "scheduled_at" in refused.error["details"]
    moved = await api.call("PUT", path, {"status": "planned", "scheduled_at": SEED["scheduled_at"]})
    assert moved.status == 200
    assert moved.data["status"] == "planned"


async def test_published_events_are_history(api: Api) -> None:
    project = await api.project()
    event = await _event(api, project, status="published", scheduled_at=SEED["scheduled_at"])
    path = f"/v1/calendar/{event['id']}"
    for change in (
        {"status": "planned"},
        {"scheduled_at": "2026-06-01T00:00:00Z"},
        {"scheduled_at": None, "status": "idea"},
    ):
        answer = await api.call("PUT", path, change)
        assert answer.status == 409, change
        assert answer.error["code"] == "event_published"
    same = await api.call(
        "PUT", path, {"scheduled_at": "2026-05-15T11:00:00+02:00", "title": "Renamed"}
    )
    assert same.status == 200
    assert same.data["title"] == "Renamed"
    cancelled = await api.call("PUT", path, {"status": "cancelled"})
    assert cancelled.status == 200
    assert cancelled.data["status"] == "cancelled"


@pytest.mark.parametrize(
    "body",
    [
        {"title": None},
        {"title": ""},
        {"status": None},
        {"type": None},
        {"scheduled_at": "2026-05-15T09:00:00"},
        {"article_id": 0},
        {"unknown": 1},
    ],
)
async def test_put_validation(api: Api, body: dict[str, Any]) -> None:
    project = await api.project()
    event = await _event(api, project, status="idea")
    answer = await api.call("PUT", f"/v1/calendar/{event['id']}", body)
    assert answer.status == 422, body


async def test_delete(api: Api) -> None:
    project = await api.project()
    event = await _event(api, project, status="idea")
    path = f"/v1/calendar/{event['id']}"
    deleted = await api.call("DELETE", path)
    assert deleted.status == 204
    assert deleted.body == b""
    assert (await api.get(path)).status == 404
    assert (await api.call("DELETE", path)).status == 404


async def test_other_teams_project_and_events_are_404(api: Api) -> None:
    theirs = await api.project(api.b)
    event = (await api.post(f"/v1/projects/{theirs}/calendar", SEED, team=api.b)).data
    missing = 10**9
    for path in (f"/v1/projects/{theirs}/calendar", f"/v1/projects/{missing}/calendar"):
        assert (await api.get(path)).status == 404
        assert (await api.post(path, SEED)).status == 404
    bodies = set()
    for event_id in (event["id"], missing):
        path = f"/v1/calendar/{event_id}"
        for method, body in (("GET", NO_BODY), ("PUT", {"title": "x"}), ("DELETE", NO_BODY)):
            answer = await api.call(method, path, body)
            assert answer.status == 404
            bodies.add(answer.body)
    assert len(bodies) == 1
    assert (await api.get(f"/v1/calendar/{event['id']}", team=api.b)).status == 200


async def test_unknown_article_is_422(api: Api, aiohttp_client: ClientFactory) -> None:
    class NoArticles:
        async def exists(self, team_id: int, project_id: int | None, article_id: int) -> bool:
            return article_id == 88

    app = create_app(config(), rankion=api.rankion.derive(articles=NoArticles()))
    api = evolve(api, client=await aiohttp_client(app), rankion=app[RANKION])
    project = await api.project()
    assert (await api.post(f"/v1/projects/{project}/calendar", SEED)).status == 201
    answer = await api.post(f"/v1/projects/{project}/calendar", {**SEED, "article_id": 89})
    assert answer.status == 422
    assert "article_id" in answer.error["details"]


async def test_a_create_asks_the_article_directory_once(
    api: Api, aiohttp_client: ClientFactory
) -> None:
    """An embedding app's directory may be a remote call: one per create, whether the
    team has webhooks or not, and for an unknown article too."""
    asked: list[int] = []

    class Articles:
        async def exists(self, team_id: int, project_id: int | None, article_id: int) -> bool:
            asked.append(article_id)
            return article_id == 88

    app = create_app(config(), rankion=api.rankion.derive(articles=Articles()))
    api = evolve(api, client=await aiohttp_client(app), rankion=app[RANKION])
    project = await api.project()
    path = f"/v1/projects/{project}/calendar"
    assert (await api.post(path, SEED)).status == 201
    assert (await api.post(path, {**SEED, "article_id": 89})).status == 422
    async with api.rankion.deps.storage.unit_of_work() as uow:
        hook = Webhook(
            0, api.a.id, "https://example.com/hook", ["image.ready"], "whsec_x", api.clock.now()
        )
        await uow.webhooks.add(hook)
        await uow.commit()
    assert (await api.post(path, SEED)).status == 201
    assert (await api.post(path, {**SEED, "article_id": 89})).status == 422
    assert asked == [88, 89, 88, 89]


async def test_a_scheduled_post_in_the_past_is_kept_with_a_warning(api: Api) -> None:
    """Allowed (a late entry, a back-filled plan), but the answer says so; any other
    status, or a future time, has nothing to say."""
    project = await api.project()
    now = api.clock.now()
    past = iso_z(now - timedelta(minutes=5))
    future = iso_z(now + timedelta(days=2))
    made = await api.post(
        f"/v1/projects/{project}/calendar",
        {"title": "Late", "scheduled_at": past, "status": "scheduled"},
    )
    assert made.status == 201, made.body
    assert made.data["status"] == "scheduled" and made.data["scheduled_at"] == past
    (warning,) = made.json["warnings"]
    assert warning["code"] == "scheduled_in_past"
    assert past in warning["message"] and "published" in warning["message"]
    event = made.data["id"]
    assert (await api.get(f"/v1/calendar/{event}")).data == made.data  # stored as sent

    for status in ("idea", "planned", "published", "cancelled"):
        quiet = await api.post(
            f"/v1/projects/{project}/calendar",
            {"title": status, "scheduled_at": past, "status": status},
        )
        assert (quiet.status, quiet.json["warnings"]) == (201, []), status
    ahead = await api.post(
        f"/v1/projects/{project}/calendar",
        {"title": "Ahead", "scheduled_at": future, "status": "scheduled"},
    )
    assert (ahead.status, ahead.json["warnings"]) == (201, [])

    # a PUT warns about the event as it is afterwards
    moved = await api.call("PUT", f"/v1/calendar/{event}", {"scheduled_at": future})
    assert (moved.status, moved.json["warnings"]) == (200, [])
    api.clock.advance(timedelta(days=3))  # the post's time has come and gone
    touched = await api.call("PUT", f"/v1/calendar/{event}", {"notes": "still not out"})
    assert [w["code"] for w in touched.json["warnings"]] == ["scheduled_in_past"]
    done = await api.call("PUT", f"/v1/calendar/{event}", {"status": "published"})
    assert (done.status, done.json["warnings"]) == (200, [])
    assert "warnings" not in (await api.get(f"/v1/calendar/{event}")).json  # reads: no
