"""Per-team count caps of what costs no credits: projects, calendar events (all the
team's projects together) and chat sessions; past one, ``422 limit_exceeded``. Each
off with 0, each counted per team, on memory, SQLite and PostgreSQL.

The SQL backend reads the counts from ``team_counts`` (kept by triggers, migration
``0017_team_counts``): exact on memory and SQLite; on PostgreSQL a count is of
committed rows, so a team's creates in flight together may pass the cap by at most
their number less one (``test_the_count_caps_under_concurrency``)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from attrs import evolve

from rankion_core.rules.limits import (
    CALENDAR_EVENTS_PER_TEAM,
    CHAT_SESSIONS_PER_TEAM,
    PROJECTS_PER_TEAM,
    REQUESTS_PER_TEAM,
)

from .conftest import Answer, Api, ClientFactory, config, start
from .sqlapi import opened_sql, start_sql

Starter = Callable[..., Awaitable[Api]]
IDEA = {"title": "an idea", "status": "idea"}
HOOK = {"url": "https://hooks.example.com/rankion", "events": ["calendar.event.changed"]}


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def capped(
    request: pytest.FixtureRequest, aiohttp_client: ClientFactory, tmp_path: Path
) -> AsyncIterator[Starter]:
    """Starts the API with the caps given, over each storage backend."""
    if request.param == "memory":

        async def on_memory(**limits: Any) -> Api:
            return await start(aiohttp_client, evolve(config(), **limits))

        yield on_memory
        return
    async with opened_sql(request.param, tmp_path) as storage:

        async def on_sql(**limits: Any) -> Api:
            return await start_sql(aiohttp_client, storage, **limits)

        yield on_sql


def _refused(answer: Answer, what: str, limit: int) -> None:
    assert answer.status == 422, answer.body
    error = answer.error
    assert error["code"] == "limit_exceeded"
    assert error["message"].startswith(f"a team may have at most {limit} {what};")
    assert error["details"] == {what.replace(" ", "_"): f"at most {limit} per team"}


async def _counts(api: Api, team_id: int) -> tuple[int, int, int]:
    """What the storage counts for the team: projects, events, chat sessions."""
    async with api.rankion.deps.storage.unit_of_work() as uow:
        return (
            await uow.projects.count(team_id),
            await uow.events.count(team_id),
            await uow.chats.count(team_id),
        )


def test_the_defaults_are_1000_projects_100000_events_and_10000_chats() -> None:
    cfg = config()
    assert (cfg.max_projects, cfg.max_calendar_events, cfg.max_chat_sessions) == (
        1000,
        100_000,
        10_000,
    )
    assert (PROJECTS_PER_TEAM, CALENDAR_EVENTS_PER_TEAM, CHAT_SESSIONS_PER_TEAM) == (
        1000,
        100_000,
        10_000,
    )


async def test_a_team_past_its_project_cap_is_422_and_others_still_create(
    capped: Starter,
) -> None:
    api = await capped(max_projects=3)
    for n in range(3):
        await api.project(name=f"p{n}")
    _refused(await api.post("/v1/projects", {"name": "one more"}), "projects", 3)
    listed = await api.get("/v1/projects")
    assert listed.json["meta"]["total"] == 3  # nothing was made
    await api.project(team=api.b)  # team B is not held by team A's cap
    assert (await _counts(api, api.a.id))[0] == 3
    assert (await _counts(api, api.b.id))[0] == 1


@pytest.mark.parametrize("path", ["plain", "webhook", "article"])
async def test_a_team_past_its_event_cap_is_422_until_it_deletes_one(
    capped: Starter, path: str
) -> None:
    """Every way an event is made: one statement (no webhook), the unit of work that
    queues deliveries (a webhook), and the one that looks up an article."""
    api = await capped(max_calendar_events=3)
    if path == "webhook":
        assert (await api.post("/v1/webhooks", HOOK)).status == 201
    body = {**IDEA, "article_id": 88} if path == "article" else IDEA
    first, second = await api.project(), await api.project(name="Newsletter")
    made = [
        await api.post(f"/v1/projects/{project}/calendar", body)
        for project in (first, second, second)
    ]
    assert [a.status for a in made] == [201, 201, 201]
    for project in (first, second):  # the cap is the team's, all its projects together
        _refused(await api.post(f"/v1/projects/{project}/calendar", body), "calendar events", 3)
    assert (await _counts(api, api.a.id))[1] == 3

    # another team's project answers like a missing one, cap or not
    theirs = await api.project(team=api.b)
    missing = await api.post("/v1/projects/999999/calendar", body)
    other = await api.post(f"/v1/projects/{theirs}/calendar", body)
    assert (missing.status, other.status) == (404, 404)
    assert other.body == missing.body
    # team A at its cap does not hold team B
    assert (await api.post(f"/v1/projects/{theirs}/calendar", body, team=api.b)).status == 201

    gone = await api.call("DELETE", f"/v1/calendar/{made[0].data['id']}")
    assert gone.status == 204
    assert (await _counts(api, api.a.id))[1] == 2  # deleting frees room
    assert (await api.post(f"/v1/projects/{first}/calendar", body)).status == 201
    _refused(await api.post(f"/v1/projects/{first}/calendar", body), "calendar events", 3)


async def test_a_shift_moves_events_of_a_team_at_its_cap(capped: Starter) -> None:
    api = await capped(max_calendar_events=2)
    project = await api.project()
    at = {"title": "dated", "scheduled_at": "2026-05-15T09:00:00Z"}
    for _ in range(2):
        assert (await api.post(f"/v1/projects/{project}/calendar", at)).status == 201
    shift = {"from": "2026-05-01", "to": "2026-05-31", "days": 3}
    moved = await api.post(f"/v1/projects/{project}/calendar/shift", shift)
    assert moved.status == 200, moved.body
    assert moved.data["moved"] == 2


async def test_a_team_past_its_chat_cap_is_422_until_an_image_goes_for_good(
    capped: Starter,
) -> None:
    api = await capped(max_chat_sessions=2)
    image, other = await api.generate(), await api.generate()
    for target in (image, image):
        assert (await api.post(f"/v1/images/{target}/open-in-chat")).status == 201
    _refused(await api.post(f"/v1/images/{other}/open-in-chat"), "chat sessions", 2)
    theirs = await api.generate(team=api.b)
    assert (await api.post(f"/v1/images/{theirs}/open-in-chat", team=api.b)).status == 201
    # a team's id of another team's image is 404, as a missing one, at the cap too
    missing = await api.post("/v1/images/999999/open-in-chat")
    stranger = await api.post(f"/v1/images/{theirs}/open-in-chat")
    assert (missing.status, stranger.status) == (404, 404)
    assert stranger.body == missing.body

    assert (await api.call("DELETE", f"/v1/images/{image}")).status == 200
    assert (await api.call("DELETE", f"/v1/images/{image}/forever")).status == 204
    assert (await _counts(api, api.a.id))[2] == 0  # its sessions went with it
    assert (await api.post(f"/v1/images/{other}/open-in-chat")).status == 201


async def test_zero_turns_the_count_caps_off(capped: Starter) -> None:
    api = await capped(max_projects=0, max_calendar_events=0, max_chat_sessions=0)
    projects = [await api.project(name=f"p{n}") for n in range(5)]
    for project in projects:
        for _ in range(2):
            assert (await api.post(f"/v1/projects/{project}/calendar", IDEA)).status == 201
    image = await api.generate()
    for _ in range(4):
        assert (await api.post(f"/v1/images/{image}/open-in-chat")).status == 201
    assert await _counts(api, api.a.id) == (5, 10, 4)


async def test_the_count_caps_under_concurrency(capped: Starter) -> None:
    """12 creates of each kind at once against a cap of 5. Memory and SQLite run one
    unit of work at a time: exactly 5 are made. PostgreSQL reads the committed count:
    creates in flight together may each see room, and a team has at most
    ``REQUESTS_PER_TEAM`` requests answered at once (the others wait), so up to 5 - 1 +
    4; once they have committed the cap holds (a second burst makes nothing), and the
    counts are the rows' counts."""
    api = await capped(max_projects=5, max_calendar_events=5, max_chat_sessions=5)
    exact = getattr(api.rankion.deps.storage, "dialect", "memory") != "postgresql"
    project, image = await api.project(), await api.generate()
    tries = {
        "projects": lambda: api.post("/v1/projects", {"name": "at once"}),
        "events": lambda: api.post(f"/v1/projects/{project}/calendar", IDEA),
        "chats": lambda: api.post(f"/v1/images/{image}/open-in-chat"),
    }
    made = {}
    for kind, send in tries.items():
        statuses = Counter(a.status for a in await asyncio.gather(*(send() for _ in range(12))))
        assert set(statuses) <= {201, 422}, statuses
        made[kind] = statuses[201]
        again = Counter(a.status for a in await asyncio.gather(*(send() for _ in range(6))))
        assert again == {422: 6}, (kind, again)
    have = {"projects": 1, "events": 0, "chats": 0}  # made before the bursts
    for kind, count in made.items():
        if exact:
            assert have[kind] + count == 5, (kind, count)
        else:
            assert 5 <= have[kind] + count <= 5 - 1 + REQUESTS_PER_TEAM, (kind, count)
    listed = (await api.get(f"/v1/projects/{project}/calendar")).json["meta"]["total"]
    projects = (await api.get("/v1/projects")).json["meta"]["total"]
    assert await _counts(api, api.a.id) == (projects, listed, made["chats"])
