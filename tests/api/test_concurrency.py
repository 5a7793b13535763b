"""Races through the HTTP layer, on SQLite and PostgreSQL: the balance never goes
below zero, every view is counted once, one Idempotency-Key makes one job."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable
from types import SimpleNamespace
from typing import Any, TypeVar

from sqlalchemy import select

from rankion_sqlalchemy import SqlStorage
from rankion_sqlalchemy.search import image_search_text
from rankion_sqlalchemy.tables import image_tags, images

from .conftest import NO_BODY, Answer, Api, ClientFactory, relative
from .sqlapi import sql_storage, start_sql

__all__ = ["sql_storage"]  # the fixture, imported to be used here

T = TypeVar("T")
GENERATE = {"prompt": "a lighthouse at dusk", "size": "256x256"}
#: public views in flight at once, per database
VIEWERS = {"sqlite": 4, "postgresql": 32}


async def bounded(limit: int, calls: list[Awaitable[T]]) -> list[T]:
    """Run ``calls`` concurrently, at most ``limit`` at a time."""
    gate = asyncio.Semaphore(limit)

    async def one(call: Awaitable[T]) -> T:
        async with gate:
            return await call

    return await asyncio.gather(*(one(c) for c in calls))


async def _balance(api: Api) -> int:
    return int((await api.get("/v1/credits")).data["balance"])


async def test_50_generates_against_10_charges(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage, credits=50)
    answers = await asyncio.gather(*(api.post("/v1/generate/image", GENERATE) for _ in range(50)))
    statuses = Counter(a.status for a in answers)
    assert statuses == {202: 10, 402: 40}, statuses
    assert await _balance(api) == 0
    ledger = (await api.get("/v1/credits/ledger?per_page=100")).data
    assert sum(1 for e in ledger if e["delta"] < 0) == 10
    images = (await api.get("/v1/images?per_page=100")).json["meta"]["total"]
    assert images == 10  # a refused charge leaves no image behind


async def test_1000_public_views_count_exactly(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    image_id = await api.generate()
    share = (await api.post(f"/v1/images/{image_id}/share")).data
    page = relative(share["public_url"])
    # SQLite has one writer: many at a time queue a view for longer than its 5 s busy
    # timeout on a loaded machine (a 503 then, never a lost or double count).
    viewers = VIEWERS[sql_storage.engine.dialect.name]
    answers: list[Answer] = await bounded(
        viewers, [api.get(page, anonymous=True) for _ in range(1000)]
    )
    assert Counter(a.status for a in answers) == {200: 1000}
    await api.rankion.shares.flush_views()  # what the server does every second
    assert (await api.image(image_id))["share_views"] == 1000
    again = (await api.post(f"/v1/images/{image_id}/share")).data
    assert again["view_count"] == 1000


async def test_20_replays_of_one_key_make_one_job(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    before = await _balance(api)
    key = {"Idempotency-Key": "one-key-twenty-times"}
    answers = await asyncio.gather(
        *(api.post("/v1/generate/image", GENERATE, headers=key) for _ in range(20))
    )
    accepted = [a for a in answers if a.status == 202]
    in_flight = [a for a in answers if a.status == 409]
    assert len(accepted) + len(in_flight) == 20, [a.body for a in answers]
    assert accepted, "the first request must be answered"
    assert all(a.error["code"] == "idempotency_key_in_flight" for a in in_flight)
    assert len({a.body for a in accepted}) == 1  # replays are the first answer, byte for byte
    replay = await api.post("/v1/generate/image", GENERATE, headers=key)
    assert replay.status == 202 and replay.body == accepted[0].body
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert await _balance(api) == before - 5
    jobs: dict[str, Any] = (await api.get("/v1/images")).json["meta"]
    assert jobs["total"] == 1


# Read-modify-write races: on PostgreSQL (READ COMMITTED) each of these lost a write or
# broke a rule before the rows were read for update; SQLite runs them one at a time.
FUTURE = "2030-03-{:02d}T09:00:00Z"


async def test_concurrent_share_calls_make_one_share_and_revoking_ends_it(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    image_id = await api.generate()
    answers = await asyncio.gather(*(api.post(f"/v1/images/{image_id}/share") for _ in range(10)))
    assert Counter(a.status for a in answers) == {201: 1, 200: 9}
    tokens = {a.data["token"] for a in answers}
    assert len(tokens) == 1
    assert (await api.call("DELETE", f"/v1/images/{image_id}/share")).status == 204
    (token,) = tokens
    assert (await api.get(f"/s/{token}/image", anonymous=True)).status == 404
    assert (await api.call("DELETE", f"/v1/images/{image_id}/share")).status == 404


async def test_title_and_tag_changes_at_once_stay_searchable(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    ids = [await api.generate(run=False, tags=["old"]) for _ in range(8)]
    changes = []
    for n, image_id in enumerate(ids):
        changes.append(api.call("PATCH", f"/v1/images/{image_id}", {"title": f"beacon{n}"}))
        changes.append(api.call("PATCH", f"/v1/images/{image_id}", {"tags": [f"storm{n}"]}))
    assert {a.status for a in await asyncio.gather(*changes)} == {200}
    for n, image_id in enumerate(ids):
        for query in (f"q=beacon{n}", f"q=storm{n}", f"tags[]=storm{n}"):
            found = (await api.get(f"/v1/images?{query}")).data
            assert [i["id"] for i in found] == [image_id], query
    assert (await api.get("/v1/images?q=old")).data == []


async def test_two_shifts_and_title_changes_all_land(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    project = await api.project()
    events = []
    for day in range(1, 7):
        body = {"title": f"post {day}", "scheduled_at": FUTURE.format(day), "status": "planned"}
        made = await api.post(f"/v1/projects/{project}/calendar", body)
        events.append(made.data["id"])
    shift = {"from": "2030-01-01T00:00:00Z", "to": "2030-12-31T00:00:00Z", "days": 1}
    calls = [api.post(f"/v1/projects/{project}/calendar/shift", shift) for _ in range(2)]
    calls += [api.call("PUT", f"/v1/calendar/{e}", {"title": f"renamed {e}"}) for e in events]
    answers = await asyncio.gather(*calls)
    assert [a.data["moved"] for a in answers[:2]] == [6, 6]
    assert {a.status for a in answers[2:]} == {200}
    for day, event in enumerate(events, start=1):
        stored = (await api.get(f"/v1/calendar/{event}")).data
        assert (stored["scheduled_at"], stored["title"]) == (
            FUTURE.format(day + 2),
            f"renamed {event}",
        )


async def test_clearing_the_date_and_planning_never_both_land(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    project = await api.project()
    for n in range(8):
        idea = {"title": f"idea {n}", "scheduled_at": FUTURE.format(1), "status": "idea"}
        event = (await api.post(f"/v1/projects/{project}/calendar", idea)).data["id"]
        await asyncio.gather(
            api.call("PUT", f"/v1/calendar/{event}", {"scheduled_at": None}),
            api.call("PUT", f"/v1/calendar/{event}", {"status": "planned"}),
        )
        stored = (await api.get(f"/v1/calendar/{event}")).data
        assert stored["status"] == "idea" or stored["scheduled_at"] is not None, stored


async def test_deleting_a_root_for_good_racing_its_variants_edit_and_title(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    for n in range(4):
        root = await api.generate()
        variant = (await api.edit(root)).data["image_id"]
        await api.run_jobs()
        assert (await api.call("DELETE", f"/v1/images/{root}")).status == 200
        forever, titled, edited = await asyncio.gather(
            api.call("DELETE", f"/v1/images/{root}/forever"),
            api.call("PATCH", f"/v1/images/{variant}", {"title": f"kept {n}"}),
            api.edit(variant),
        )
        assert (forever.status, titled.status, edited.status) == (204, 200, 202)
        detail = await api.image(variant)
        assert detail["title"] == f"kept {n}"
        assert detail["root_id"] is None  # its root is gone: it is the root now
        below = [v["id"] for v in detail["variants"]]
        assert below == [edited.data["image_id"]]
        assert (await api.image(below[0]))["root_id"] == variant


async def test_deleting_for_good_at_once_is_one_204_and_the_rest_404(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    """Twelve calls on one trashed image: one deletes it, every other finds it gone,
    as one after another would (the losers read the image before it went)."""
    api = await start_sql(aiohttp_client, sql_storage)
    image_id = await api.generate()
    assert (await api.call("DELETE", f"/v1/images/{image_id}")).status == 200
    answers = await asyncio.gather(
        *(api.call("DELETE", f"/v1/images/{image_id}/forever") for _ in range(12))
    )
    assert Counter(a.status for a in answers) == {204: 1, 404: 11}
    assert (await api.get(f"/v1/images/{image_id}")).status == 404


async def test_deleting_a_webhook_at_once_is_one_204_and_the_rest_404(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    made = await api.post(
        "/v1/webhooks", {"url": "https://example.com/hook", "events": ["image.ready"]}
    )
    assert made.status == 201, made.body
    path = f"/v1/webhooks/{made.data['id']}"
    answers = await asyncio.gather(*(api.call("DELETE", path) for _ in range(8)))
    assert Counter(a.status for a in answers) == {204: 1, 404: 7}


async def test_title_tag_and_trash_changes_at_once_keep_tags_words_and_rows_agreeing(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    """Renames (read without a lock), tag changes (read locked), re-saves of the same
    tags, trash and restore, all at once on five images: every row's search words are
    made of its title, prompt and tags, and its tag rows are its tags, live as it is."""
    api = await start_sql(
        aiohttp_client, sql_storage, write_rate=0, max_requests_per_team=0, charge_rate=0
    )
    ids = [await api.generate(run=False, tags=["old"]) for _ in range(5)]
    bodies: list[tuple[str, str, Any]] = []
    for n in range(120):
        path = f"/v1/images/{ids[n % 5]}"
        bodies.append(
            [
                ("PATCH", path, {"title": f"beacon{n}"}),
                ("PATCH", path, {"tags": [f"storm{n}"]}),
                ("PATCH", path, {"title": f"both{n}", "tags": [f"twin{n}"]}),
                ("PATCH", path, {"tags": ["old"]}),
                ("DELETE", path, NO_BODY),
                ("POST", f"{path}/restore", NO_BODY),
            ][n % 6]
        )
    answers = await asyncio.gather(*(api.call(method, path, body) for method, path, body in bodies))
    refused = [a.body for a in answers if a.status not in (200, 409)]
    assert refused == []  # 409: a restore of an image not in the trash
    async with sql_storage.engine.connect() as db:
        rows = (await db.execute(select(images).where(images.c.id.in_(ids)))).mappings().all()
        tagged = (await db.execute(select(image_tags).where(image_tags.c.image_id.in_(ids)))).all()
    for row in rows:
        image = SimpleNamespace(title=row["title"], prompt=row["prompt"], tags=row["tags"])
        assert row["search_text"] == image_search_text(image), row  # type: ignore[arg-type]
        mine = {(t.tag_lower, t.live) for t in tagged if t.image_id == row["id"]}
        live = row["deleted_at"] is None
        assert mine == {(tag.lower(), live) for tag in row["tags"]}, (row, mine)


async def test_saving_the_same_tags_racing_a_tag_change_keeps_tags_and_rows_agreeing(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    """One call sets the tags an image has, another new ones, at once: whichever is
    last, the row's tags and its tag rows are the same tags, as the last answer says."""
    api = await start_sql(aiohttp_client, sql_storage, write_rate=0, charge_rate=0)
    for _ in range(10):
        image_id = await api.generate(run=False, tags=["old"])
        path = f"/v1/images/{image_id}"
        both = await asyncio.gather(
            api.call("PATCH", path, {"tags": ["new"]}), api.call("PATCH", path, {"tags": ["old"]})
        )
        assert [a.status for a in both] == [200, 200]
        tags = (await api.image(image_id))["tags"]
        async with sql_storage.engine.connect() as db:
            rows = await db.execute(
                select(image_tags.c.tag_lower).where(image_tags.c.image_id == image_id)
            )
            assert sorted(rows.scalars()) == tags, image_id
