"""Every main list query uses an index and never reads or sorts the whole table.

The statements are the ones the repositories really send (captured as they go out),
explained on a seeded database: SQLite with ``EXPLAIN QUERY PLAN`` and no statistics
(an embedded database rarely has any), PostgreSQL with ``EXPLAIN`` after ``VACUUM
ANALYZE`` on enough rows (5,000 images, 3,000 jobs, 1,000 events) that a sequential
scan is not simply the cheapest way to read a tiny table.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, event, insert, text, update

from benchmarks.seed import COMMON_TAG, COMMON_WORD, START, analyze, seed_images
from rankion_core.models import EventStatus, EventType, ImageSort, JobKind, JobStatus
from rankion_core.ports import EventQuery, ImageQuery
from rankion_core.rules.similar import to_signed
from rankion_sqlalchemy import SqlStorage, open_storage
from rankion_sqlalchemy import plans as rankion_plans
from rankion_sqlalchemy.tables import calendar_events, images, jobs, projects

from .backends import NO_POSTGRES, POSTGRES_URL, postgres_options, run_aside

IMAGES, JOBS, EVENTS = 5000, 3000, 1000
Plans = Callable[[Callable[[SqlStorage], Awaitable[Any]]], Awaitable[list[str]]]


async def _seed_rest(storage: SqlStorage) -> None:
    done = {"kind": JobKind.GENERATE, "status": JobStatus.SUCCEEDED, "payload": {}}
    job_rows = [
        {**done, "team_id": 1, "created_at": START, "attempts": 1, "max_attempts": 3}
        for _ in range(JOBS)
    ]
    for row in job_rows[-20:]:
        row["status"] = JobStatus.QUEUED
    event_rows = [
        {
            "team_id": 1,
            "project_id": 1 + n % 20,
            "title": f"event {n}",
            "type": EventType.ARTICLE,
            "status": EventStatus.PLANNED,
            "scheduled_at": START + timedelta(hours=n),
            "created_at": START,
            "updated_at": START,
        }
        for n in range(EVENTS)
    ]
    async with storage.engine.begin() as connection:
        await connection.execute(
            insert(projects),
            [{"team_id": 1, "name": f"p{n}", "created_at": START} for n in range(20)],
        )
        await connection.execute(insert(jobs), job_rows)
        await connection.execute(insert(calendar_events), event_rows)
        # perceptual hashes for ``similar`` (pseudo-random, one per image)
        hashed = update(images).where(images.c.id == bindparam("b_id"))
        await connection.execute(
            hashed.values(phash=bindparam("b_phash")),
            [
                {"b_id": n, "b_phash": to_signed(n * 0x9E37_79B9_7F4A_7C15)}
                for n in range(1, IMAGES + IMAGES // 5 + 1)
            ],
        )


async def _seed(url: str, **options: Any) -> None:
    storage = open_storage(url, **options)
    try:
        await storage.migrate()
        await seed_images(storage, 1, IMAGES)
        await seed_images(storage, 2, IMAGES // 5)
        await _seed_rest(storage)
        if storage.dialect == "postgresql":
            await analyze(storage)
    finally:
        await storage.close()


@pytest.fixture(scope="module")
def seeded_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plans") / "seeded.db"
    run_aside(_seed(f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="module")
def seeded_postgres() -> Iterator[str]:
    if POSTGRES_URL is None:
        pytest.skip(NO_POSTGRES)
    schema = f"rankion_plans_{uuid.uuid4().hex[:12]}"

    async def sql(statement: str) -> None:
        assert POSTGRES_URL is not None
        admin = open_storage(POSTGRES_URL)
        async with admin.engine.begin() as connection:
            await connection.execute(text(statement))
        await admin.close()

    run_aside(sql(f'CREATE SCHEMA "{schema}"'))
    try:
        assert POSTGRES_URL is not None
        run_aside(_seed(POSTGRES_URL, **postgres_options(schema)))
        yield schema
    finally:
        run_aside(sql(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", "postgres"])
async def seeded(request: pytest.FixtureRequest) -> AsyncIterator[SqlStorage]:
    if request.param == "sqlite":
        storage = open_storage(f"sqlite:///{request.getfixturevalue('seeded_sqlite')}")
    else:
        schema = request.getfixturevalue("seeded_postgres")
        assert POSTGRES_URL is not None
        storage = open_storage(POSTGRES_URL, **postgres_options(schema))
    try:
        yield storage
    finally:
        await storage.close()


async def _explain(storage: SqlStorage, statement: str, parameters: Any) -> str:
    prefix = "EXPLAIN QUERY PLAN " if storage.dialect == "sqlite" else "EXPLAIN "
    async with storage.engine.connect() as connection:
        rows = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
    return "\n".join(str(row[-1]) for row in rows)


@pytest.fixture
def plans(seeded: SqlStorage) -> Plans:
    """Run an action; the plans of the SELECT/WITH/UPDATE statements it sent."""

    async def run(action: Callable[[SqlStorage], Awaitable[Any]]) -> list[str]:
        sent: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if statement.lstrip().upper().startswith(("SELECT", "WITH", "UPDATE")):
                sent.append((statement, params))

        # units of work on a SQLite file run on its inline engine
        engine = seeded.inline_engine or seeded.engine.sync_engine
        event.listen(engine, "before_cursor_execute", capture)
        try:
            await action(seeded)
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        return [await _explain(seeded, statement, params) for statement, params in sent]

    return run


def assert_indexed(plan: str, index: str | None = None, *, sorted_by_index: bool = True) -> None:
    """No whole-table scan; ``index`` is used; no sort step unless allowed."""
    assert "Seq Scan" not in plan, plan
    assert not re.search(r"^\s*SCAN (images|jobs|calendar_events)\s*$", plan, re.M), plan
    if index is not None:
        assert index in plan, plan
    if sorted_by_index:
        assert "TEMP B-TREE" not in plan, plan
        assert not re.search(r"^\s*(->\s*)?Sort\b", plan, re.M), plan


def list_images(query: ImageQuery) -> Callable[[SqlStorage], Awaitable[Any]]:
    async def action(storage: SqlStorage) -> Any:
        async with storage.unit_of_work() as uow:
            return await uow.images.list(query)

    return action


def edited_index(dialect: str) -> str:
    return "ix_images_edited_pg" if dialect == "postgresql" else "ix_images_edited"


@pytest.mark.parametrize(
    ("query", "index"),
    [
        (ImageQuery(team_id=1), "ix_images_newest"),
        (ImageQuery(team_id=1, sort=ImageSort.OLDEST), "ix_images_newest"),
        (ImageQuery(team_id=1, sort=ImageSort.EDITED), "edited"),
        (ImageQuery(team_id=1, favorite=True), "ix_images_favorite"),
        (ImageQuery(team_id=1, model="flux-pro"), "ix_images_model"),
    ],
    ids=["newest", "oldest", "edited", "favorite", "model"],
)
async def test_sorted_lists_read_an_index_in_order(
    plans: Plans, seeded: SqlStorage, query: ImageQuery, index: str
) -> None:
    page, count = await plans(list_images(query))
    assert_indexed(page, edited_index(seeded.dialect) if index == "edited" else index)
    assert_indexed(count)


@pytest.fixture(params=["drive", "probe"])
def sqlite_plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """SQLite's two plans for match filters (see ``rankion_sqlalchemy.plans``)."""
    monkeypatch.setattr(rankion_plans, "DRIVE_LIMIT", 10**9 if request.param == "drive" else 0)
    return str(request.param)


async def test_the_tag_filter_uses_the_tag_index(
    plans: Plans, seeded: SqlStorage, sqlite_plan: str
) -> None:
    sent = await plans(list_images(ImageQuery(team_id=1, tags=(COMMON_TAG, "tag010"))))
    *sizes, page, count = sent
    assert_indexed(count, "ix_image_tags_lookup", sorted_by_index=False)
    if seeded.dialect == "postgresql":  # its planner weighs both ways with statistics
        assert_indexed(page, "ix_image_tags_lookup", sorted_by_index=False)
        return
    for size in sizes:  # how many match: a capped read of the tag index
        assert_indexed(size, "ix_image_tags_lookup")
    if sqlite_plan == "drive":  # from the tag index, then sort the matches only
        assert_indexed(page, "ix_image_tags_lookup", sorted_by_index=False)
    else:  # the date index in order, a primary-key probe of the tags per row
        assert_indexed(page, "ix_images_newest")
        assert "sqlite_autoindex_image_tags_1" in page, page


async def test_q_uses_the_full_text_index(
    plans: Plans, seeded: SqlStorage, sqlite_plan: str
) -> None:
    *sizes, page, count = await plans(list_images(ImageQuery(team_id=1, q=COMMON_WORD[:4])))
    text_index = "ix_images_search" if seeded.dialect == "postgresql" else "images_fts"
    # PostgreSQL gathers the matches from the GIN index and sorts only them; SQLite
    # drives from FTS5's matches or walks the date index testing membership in them.
    probing = seeded.dialect == "sqlite" and sqlite_plan == "probe"
    assert_indexed(page, text_index, sorted_by_index=probing)
    assert_indexed(count, text_index, sorted_by_index=False)
    if probing:
        assert_indexed(page, "ix_images_newest")
    for size in sizes:
        assert_indexed(size, text_index)


async def test_the_trash_reads_the_trash_index(plans: Plans) -> None:
    async def trash(storage: SqlStorage) -> Any:
        async with storage.unit_of_work() as uow:
            return await uow.images.list_trash(1, 2, 24)

    page, count = await plans(trash)
    assert_indexed(page, "ix_images_trash")
    assert_indexed(count, "ix_images_trash")


async def test_the_event_list_reads_its_index(plans: Plans, seeded: SqlStorage) -> None:
    async def month(storage: SqlStorage) -> Any:
        query = EventQuery(
            team_id=1, project_id=3, scheduled_from=START, scheduled_to=START + timedelta(days=30)
        )
        async with storage.unit_of_work() as uow:
            return await uow.events.list(query)

    page, count = await plans(month)
    # PostgreSQL may sort the month's few rows rather than read them in order: fine,
    # the index bounds what is read.
    assert_indexed(page, "ix_calendar_events_list", sorted_by_index=seeded.dialect == "sqlite")
    assert_indexed(count, "ix_calendar_events_list")


async def test_a_claim_reads_only_the_active_jobs(plans: Plans) -> None:
    async def claim(storage: SqlStorage) -> Any:
        now = START + timedelta(days=1)
        async with storage.unit_of_work() as uow:
            return await uow.jobs.claim("w", now, now + timedelta(minutes=1))  # rolled back

    (update,) = await plans(claim)
    assert_indexed(update, "ix_jobs_claim")


async def test_the_purge_reads_the_purge_index(plans: Plans) -> None:
    async def due(storage: SqlStorage) -> Any:
        async with storage.unit_of_work() as uow:
            return await uow.images.due_for_purge(START + timedelta(days=40), 100)

    (select_due,) = await plans(due)
    assert_indexed(select_due, "ix_images_purge")


@pytest.mark.parametrize(
    ("max_distance", "index"),
    [(8, "ix_images_phash_band"), (15, "ix_images_phash_band"), (32, "ix_images_phash")],
    ids=["default", "widest-banded", "scan"],
)
async def test_similar_probes_the_hash_bands(plans: Plans, max_distance: int, index: str) -> None:
    async def near(storage: SqlStorage) -> Any:
        async with storage.unit_of_work() as uow:
            return await uow.images.similar(
                1, to_signed(0x9E37_79B9_7F4A_7C15), max_distance, 1, 1, 24
            )

    found, *_ = await plans(near)
    assert_indexed(found, index, sorted_by_index=False)
    # At 15 bits each band has 697 values to probe: on a few thousand images
    # PostgreSQL may rather read a band index's whole range of the team; its choice.
    if max_distance == 8:
        for shift in (48, 32, 16, 0):
            assert f"ix_images_phash_band{shift}" in found, found
