"""Abuse limits: active jobs per team, charge rate per team, body size on every route."""

from __future__ import annotations

import asyncio
import io
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from attrs import evolve

from rankion_core.errors import RateLimited
from rankion_core.models import CalendarEvent, EventStatus, EventType
from rankion_server import limits
from rankion_server.app import create_app
from rankion_server.config import ServerConfig
from rankion_server.keys import RANKION
from rankion_server.limits import (
    TEAM_REQUESTS,
    WAITING_PER_SLOT,
    WRITE_BUCKETS,
    TeamRequests,
    TokenBuckets,
)
from rankion_sqlalchemy import SqlStorage

from .conftest import Api, ClientFactory, ShiftClock, Team, config, make_team, start
from .sqlapi import sql_storage, start_sql
from .test_web import sign_in

__all__ = ["sql_storage"]

GENERATE = {"prompt": "a lighthouse at dusk", "size": "256x256"}


async def limited(aiohttp_client: ClientFactory, **limits: int) -> Api:
    return await start(aiohttp_client, evolve(config(), **limits))


async def test_active_jobs_over_the_limit_are_429_and_charge_nothing(
    aiohttp_client: ClientFactory,
) -> None:
    api = await limited(aiohttp_client, max_active_jobs=3, charge_rate=0)
    for _ in range(3):
        assert (await api.post("/v1/generate/image", GENERATE)).status == 202
    balance = (await api.get("/v1/credits")).data["balance"]
    refused = await api.post("/v1/generate/image", GENERATE)
    assert refused.status == 429
    assert refused.error["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert (await api.get("/v1/credits")).data["balance"] == balance
    assert (await api.post("/v1/generate/image", GENERATE, team=api.b)).status == 202
    await api.run_jobs()  # the jobs finish: room again
    assert (await api.post("/v1/generate/image", GENERATE)).status == 202


async def test_active_jobs_limit_holds_under_concurrency(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage, max_active_jobs=3, charge_rate=0)
    answers = await asyncio.gather(*(api.post("/v1/generate/image", GENERATE) for _ in range(12)))
    assert Counter(a.status for a in answers) == {202: 3, 429: 9}
    assert (await api.get("/v1/credits")).data["balance"] == 1000 - 3 * 5


async def test_charge_rate_is_per_team_and_replays_are_free(
    aiohttp_client: ClientFactory,
) -> None:
    api = await limited(aiohttp_client, max_active_jobs=0, charge_rate=3)
    key = {"Idempotency-Key": "first"}
    first = await api.post("/v1/generate/image", GENERATE, headers=key)
    for _ in range(2):
        assert (await api.post("/v1/generate/image", GENERATE)).status == 202
    refused = await api.post("/v1/generate/image", GENERATE)
    assert refused.status == 429 and refused.error["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 20
    edit = await api.edit(int(first.data["image_id"]))
    assert edit.status == 429  # edits share the bucket
    replay = await api.post("/v1/generate/image", GENERATE, headers=key)
    assert replay.status == 202 and replay.body == first.body  # costs no token
    assert (await api.post("/v1/generate/image", GENERATE, team=api.b)).status == 202


async def test_zero_turns_the_limits_off(aiohttp_client: ClientFactory) -> None:
    api = await limited(aiohttp_client, max_active_jobs=0, charge_rate=0)
    answers = [await api.post("/v1/generate/image", GENERATE) for _ in range(25)]
    assert {a.status for a in answers} == {202}


async def test_changes_are_rate_limited_per_team_and_reads_are_not(
    aiohttp_client: ClientFactory,
) -> None:
    api = await limited(aiohttp_client, write_rate=3)
    for n in range(3):
        assert (await api.post("/v1/projects", {"name": f"p{n}"})).status == 201
    refused = await api.post("/v1/projects", {"name": "one too many"})
    assert refused.status == 429 and refused.error["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 20
    assert (await api.call("DELETE", "/v1/images/1")).status == 429  # before the 404
    assert (await api.get("/v1/projects")).data[2]["name"] == "p2"  # reads go on
    assert (await api.post("/v1/projects", {"name": "theirs"}, team=api.b)).status == 201
    assert len((await api.get("/v1/projects")).data) == 3  # nothing of the refused made


async def test_a_shift_costs_a_write_per_25_events_it_reads(
    aiohttp_client: ClientFactory,
) -> None:
    """It takes what the largest shift costs before it starts, and gives back what it
    did not read: shifts sent at once cannot all start on one token each."""
    api = await limited(aiohttp_client, write_rate=300)
    project = await api.project()  # one write
    at = datetime(2030, 1, 1, 9, tzinfo=UTC)
    async with api.rankion.deps.storage.unit_of_work() as uow:
        for n in range(110):
            status = EventStatus.PUBLISHED if n % 2 else EventStatus.PLANNED  # half skipped
            event = CalendarEvent(
                0, api.a.id, project, f"e{n}", EventType.ARTICLE, status, at, None, None, at, at
            )
            await uow.events.add(event)
        await uow.commit()
    shift = {"from": "2030-01-01", "to": "2030-01-02", "days": 1}
    path = f"/v1/projects/{project}/calendar/shift"
    buckets = api.client.app[WRITE_BUCKETS]
    moved = await api.post(path, shift)
    assert (moved.data["moved"], moved.data["skipped"]) == (55, 55)
    held = buckets._buckets[api.a.id][0]
    assert 300 - 1 - 1 - 110 / 25 - 0.5 <= held <= 300 - 1 - 1 - 110 / 25 + 0.5
    buckets._buckets[api.a.id] = (199.0, buckets.clock())  # less than the largest costs
    refused = await api.post(path, shift)
    assert refused.status == 429 and refused.error["code"] == "rate_limited"
    assert (await api.post("/v1/projects", {"name": "small change"})).status == 201


def test_token_bucket_refills_continuously() -> None:
    now = [0.0]
    buckets = TokenBuckets(60, clock=lambda: now[0])
    assert all(buckets.take(1) == 0.0 for _ in range(60))
    assert buckets.take(1) == pytest.approx(1.0)
    assert buckets.take(2) == 0.0
    now[0] += 2.5
    assert buckets.take(1) == 0.0 and buckets.take(1) == 0.0
    assert buckets.take(1) > 0
    assert TokenBuckets(0).take(1) == 0.0


def test_limits_come_from_the_environment() -> None:
    env = {"RANKION_MAX_ACTIVE_JOBS": "7", "RANKION_CHARGE_RATE": "0"}
    cfg = ServerConfig.from_env(env, database="memory://", blobs="memory://x")
    assert (cfg.max_active_jobs, cfg.charge_rate) == (7, 0)
    cfg = ServerConfig.from_env(env, database="memory://", blobs="memory://x", charge_rate=9)
    assert cfg.charge_rate == 9
    with pytest.raises(ValueError, match="RANKION_CHARGE_RATE"):
        ServerConfig.from_env({"RANKION_CHARGE_RATE": "lots"}, database="memory://", blobs="m://")


TOO_BIG = b"{" + b" " * (1 << 20) + b"}"


async def _chunks() -> AsyncIterator[bytes]:
    for _ in range(33):
        yield b" " * 32768


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template)


async def test_every_route_answers_413_to_a_large_body(api: Api) -> None:
    checked = 0
    for route in api.client.app.router.routes():
        path = _concrete(route.resource.canonical)
        found = await api.client.app.router.resolve(make_mocked_request(route.method, path))
        if found.route is not route:
            continue  # "1" does not fit this route's pattern
        for data in (io.BytesIO(TOO_BIG), _chunks()):  # with a length, and chunked
            async with api.client.request(
                route.method, path, data=data, headers=api.a.auth
            ) as resp:
                body = await resp.read()
                assert resp.status == 413, (route.method, path, body)
                assert b'"payload_too_large"' in body
        checked += 1
    assert checked >= 30
    async with api.client.post("/v1/nothing-here", data=io.BytesIO(TOO_BIG)) as resp:
        assert resp.status == 404  # routing first


async def test_a_team_has_at_most_its_requests_in_flight_and_others_go_on(
    aiohttp_client: ClientFactory,
) -> None:
    """Past ``max_requests_per_team`` a team's next request waits for one of its own
    (as many again may wait), then ``429``; another team's requests go on meanwhile."""
    release, inside = asyncio.Event(), asyncio.Event()
    entered: list[int] = []

    async def slow(request: web.Request) -> web.Response:
        entered.append(1)
        inside.set()
        await release.wait()
        return web.json_response({"data": "done"})

    app = create_app(evolve(config(), max_requests_per_team=1), clock=ShiftClock())
    app.router.add_get("/v1/slow", slow)
    client = await aiohttp_client(app)
    rankion = app[RANKION]
    a, b = await make_team(rankion, "acme", 10), await make_team(rankion, "globex", 10)

    def get(path: str, team: Team) -> Any:
        return asyncio.ensure_future(client.get(path, headers=team.auth))

    first = get("/v1/slow", b)
    await inside.wait()
    waiting = [get("/v1/slow", b) for _ in range(WAITING_PER_SLOT)]  # one slot: they wait
    for _ in range(500):  # until they are counted (the requests are on their way)
        if app[TEAM_REQUESTS].count(b.id) == 1 + WAITING_PER_SLOT:
            break
        await asyncio.sleep(0.01)
    refused = await client.get("/v1/images", headers=b.auth)  # as many wait as may
    assert refused.status == 429 and refused.headers["Retry-After"] == "1"
    assert (await refused.json())["error"]["code"] == "rate_limited"
    other = await client.get("/v1/images", headers=a.auth)  # another team is not held up
    assert other.status == 200 and len(entered) == 1
    release.set()
    assert [(await r).status for r in (first, *waiting)] == [200] * (1 + WAITING_PER_SLOT)
    assert app[TEAM_REQUESTS].count(b.id) == 0


async def test_a_request_waits_for_its_teams_slot_only_so_long() -> None:
    gate = TeamRequests(1, wait=0.05)
    async with gate.hold(7):
        with pytest.raises(RateLimited):
            async with gate.hold(7):
                pass
        async with gate.hold(8):  # another team's slot is its own
            pass
    async with gate.hold(7):  # given back
        assert gate.count(7) == 1
    assert gate.count(7) == 0
    async with TeamRequests(0).hold(7):  # 0: no limit, nothing counted
        assert TeamRequests(0).count(7) == 0


async def test_a_change_refused_its_teams_slot_spends_no_write_token(
    aiohttp_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The team's one slot is taken by a slow read; its changes wait for it and are
    ``429`` after the wait. Their tokens of the write rate are still the team's: as
    many changes as the rate allows go through once the read ends."""
    api = await limited(aiohttp_client, max_requests_per_team=1, write_rate=2)
    gate = api.client.server.app[TEAM_REQUESTS]
    monkeypatch.setattr(gate, "wait", 0.05)
    gallery, listed, release = api.rankion.gallery, api.rankion.gallery.list, asyncio.Event()

    async def slow(*args: Any, **kwargs: Any) -> Any:
        await release.wait()
        return await listed(*args, **kwargs)

    gallery.list = slow  # type: ignore[method-assign]
    reading = asyncio.ensure_future(api.get("/v1/images"))
    for _ in range(500):  # until the read holds the slot
        if gate.count(api.a.id) == 1:
            break
        await asyncio.sleep(0.01)
    refused = [await api.post("/v1/projects", {"name": f"p{n}"}) for n in range(3)]
    assert [a.status for a in refused] == [429] * 3
    assert {a.error["message"] for a in refused} == {
        "this team already has 1 requests being answered; wait for one"
    }
    release.set()
    assert (await reading).status == 200
    made = [await api.post("/v1/projects", {"name": f"q{n}"}) for n in range(3)]
    assert [a.status for a in made] == [201, 201, 429]  # the rate's two, then the rate
    assert made[2].error["message"] == "too many changes for this team; slow down"


async def test_a_body_that_does_not_come_holds_no_slot_and_ends_in_408(
    aiohttp_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client of the team sends a head and never its body: the team's other requests
    go on (the body is read before a slot is asked for), and after ``BODY_SECONDS``
    the stalled one is ``408`` (shortened here)."""
    monkeypatch.setattr(limits, "BODY_SECONDS", 0.3)
    api = await limited(aiohttp_client, max_requests_per_team=1)
    reader, writer = await asyncio.open_connection("127.0.0.1", api.client.server.port)
    writer.write(
        f"POST /v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: {api.a.auth['Authorization']}"
        "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{".encode()
    )
    await writer.drain()
    assert (await api.get("/v1/images")).status == 200  # not behind the stalled body
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)  # a guard only
    assert head.startswith(b"HTTP/1.1 408"), head
    length = re.search(rb"(?i)content-length: *(\d+)", head)
    assert length is not None and b"Connection: close" in head
    body = await reader.readexactly(int(length.group(1)))
    writer.close()
    assert orjson.loads(body)["error"]["code"] == "request_timeout"
    assert api.client.server.app[TEAM_REQUESTS].count(api.a.id) == 0


async def test_the_web_apps_pages_take_their_teams_slot(aiohttp_client: ClientFactory) -> None:
    """A page reads what ``/v1`` reads: it waits for the team's slot as a ``/v1`` call
    made with the same cookie does."""
    api = await limited(aiohttp_client, max_requests_per_team=1)
    jar = {"Cookie": f"rankion_session={await sign_in(api)}"}
    gallery, listed = api.rankion.gallery, api.rankion.gallery.list
    inside, most, release = [0], [0], asyncio.Event()

    async def slow(*args: Any, **kwargs: Any) -> Any:
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        try:
            await release.wait()
            return await listed(*args, **kwargs)
        finally:
            inside[0] -= 1

    gallery.list = slow  # type: ignore[method-assign]

    async def fetch(path: str) -> int:
        async with api.client.get(path, headers=jar, allow_redirects=False) as answer:
            return answer.status

    pages = [asyncio.ensure_future(fetch("/app")) for _ in range(4)]
    v1 = [asyncio.ensure_future(fetch("/v1/images")) for _ in range(4)]
    for _ in range(500):  # until all eight are counted (they are on their way)
        if api.client.server.app[TEAM_REQUESTS].count(api.a.id) == 8:
            break
        await asyncio.sleep(0.01)
    assert api.client.server.app[TEAM_REQUESTS].count(api.a.id) == 8
    release.set()
    assert await asyncio.gather(*pages, *v1) == [200] * 8
    assert most[0] == 1  # one read of the team at a time, pages and calls alike
