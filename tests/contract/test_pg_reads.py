"""``PgReads``: PostgreSQL's gallery reads on asyncpg.

``test_reads.py`` compares its answers with the unit-of-work path on every query
shape; these tests pin what that data set does not reach (several active shares of
one image, an expiry exactly at ``now``, times read under another session time
zone) and the connection handling: the engine's settings, a lost connection, an
unreachable server.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any

import asyncpg
import attrs
import pytest

from rankion_core.errors import Unavailable
from rankion_core.models import Image, Share
from rankion_core.ports import ImageQuery
from rankion_core.testing.builders import add_images, at, image, two_teams
from rankion_sqlalchemy import SqlStorage, open_storage
from rankion_sqlalchemy.pg_reads import PgReads
from rankion_sqlalchemy.rows import json_loads

from .backends import NO_POSTGRES, POSTGRES_URL, empty_postgres

NOW = at(500)


@pytest.fixture
async def pg(postgres_schema: str) -> AsyncIterator[SqlStorage]:
    """A PostgreSQL storage whose sessions run in another time zone than UTC."""
    assert POSTGRES_URL is not None
    settings = {"search_path": postgres_schema, "timezone": "America/New_York"}
    storage = open_storage(POSTGRES_URL, connect_args={"server_settings": settings})
    await empty_postgres(storage)
    try:
        yield storage
    finally:
        await storage.close()


def pg_reads(storage: SqlStorage) -> PgReads:
    reads = storage.reads()
    assert isinstance(reads, PgReads)
    return reads


async def test_postgres_storages_read_through_asyncpg(pg: SqlStorage) -> None:
    assert isinstance(pg.reads(), PgReads)
    assert pg.reads() is pg.reads()


def share(team: int, image_id: int, token: str, **fields: object) -> Share:
    return Share(id=0, team_id=team, image_id=image_id, token=token, created_at=at(1), **fields)


async def test_the_newest_active_share_wins(pg: SqlStorage) -> None:
    team, other = await two_teams(pg)
    root, variant, lone = await add_images(pg, image(team), image(team), image(team))
    variant.root_id = variant.parent_id = root.id
    async with pg.unit_of_work() as uow:
        await uow.images.update(variant)
        for item in (
            share(team, root.id, "old"),
            share(team, root.id, "new"),
            share(team, root.id, "revoked", revoked_at=at(2)),
            share(team, variant.id, "expires-now", expires_at=NOW),
            share(team, variant.id, "expires-later", expires_at=at(501)),
            share(team, variant.id, "expires-now-too", expires_at=NOW),
            share(team, lone.id, "expired", expires_at=at(499)),
            share(other, root.id, "another-teams"),  # inconsistent, but never shown
        ):
            await uow.shares.add(item)
        await uow.commit()
        expected = await uow.shares.active_for_images(team, [root.id, variant.id, lone.id], NOW)
    assert {k: v.token for k, v in expected.items()} == {
        root.id: "new",
        variant.id: "expires-later",
    }

    listing = await pg.reads().image_listing(ImageQuery(team_id=team), NOW, 100)
    assert {k: v.token for k, v in listing.shares.items()} == {
        root.id: "new",
        variant.id: "expires-later",
    }
    family = await pg.reads().image_family(team, variant.id, NOW)
    assert family is not None
    assert [i.id for i in family.tree] == [root.id, variant.id]
    assert family.image.id == variant.id
    assert {k: v.token for k, v in family.shares.items()} == {
        root.id: "new",
        variant.id: "expires-later",
    }
    names = [f.name for f in attrs.fields(Share)]
    for found in (listing.shares, family.shares):
        for key, item in found.items():
            assert [getattr(item, n) for n in names] == [getattr(expected[key], n) for n in names]
    assert (await pg.reads().image_listing(ImageQuery(team_id=other), NOW, 100)).shares == {}


async def test_times_are_utc_whatever_the_session_time_zone(pg: SqlStorage) -> None:
    team, _ = await two_teams(pg)
    (made,) = await add_images(pg, image(team, edited_at=at(3), created_at=at(2)))
    async with pg.unit_of_work() as uow:
        await uow.shares.add(share(team, made.id, "tok", expires_at=at(900)))
        await uow.commit()
    listing = await pg.reads().image_listing(ImageQuery(team_id=team), NOW, 100)
    family = await pg.reads().image_family(team, made.id, NOW)
    assert family is not None
    for item in (listing.images[0], family.image, listing.shares[made.id]):
        for value in attrs.asdict(item, recurse=False).values():
            if hasattr(value, "tzinfo"):
                assert value.tzinfo is UTC
    async with pg.unit_of_work() as uow:
        expected = await uow.images.get(team, made.id)
    for field in attrs.fields(Image):  # the same types, not just equal values
        value = getattr(listing.images[0], field.name)
        assert type(value) is type(getattr(expected, field.name)), field.name
    assert listing.images[0].created_at == at(2)
    assert listing.shares[made.id].expires_at == at(900)


async def test_naive_times_are_refused(pg: SqlStorage) -> None:
    team, _ = await two_teams(pg)
    with pytest.raises(ValueError, match="naive"):
        await pg.reads().image_listing(ImageQuery(team_id=team), NOW.replace(tzinfo=None), 10)


async def test_connections_are_the_engines_read_only_and_its_pool_is_left_alone(
    pg: SqlStorage, postgres_schema: str
) -> None:
    reads = pg_reads(pg)
    rows = await reads._fetch(
        "SELECT current_setting('plan_cache_mode'), current_setting('search_path'),"
        " current_setting('default_transaction_read_only')",
        [],
    )
    assert tuple(rows[0]) == ("force_custom_plan", postgres_schema, "on")
    team, _ = await two_teams(pg)
    await add_images(pg, image(team))
    for _ in range(3):
        await reads.image_listing(ImageQuery(team_id=team, favorite=False), NOW, 10)
    assert pg.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_lost_connection_is_replaced(pg: SqlStorage) -> None:
    team, _ = await two_teams(pg)
    await add_images(pg, image(team))
    reads = pg_reads(pg)
    pid = (await reads._fetch("SELECT pg_backend_pid()", []))[0][0]
    async with pg.engine.connect() as connection:
        await connection.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
    listing = await reads.image_listing(ImageQuery(team_id=team), NOW, 10)
    assert listing.total == 1
    assert (await reads._fetch("SELECT pg_backend_pid()", []))[0][0] != pid


async def test_lost_connections_leave_the_pool_whole(pg: SqlStorage) -> None:
    """A connection lost under a read is given back to the pool, however the loss
    shows (a closed socket, or the server's goodbye first): a pool of one still
    answers after many, and closes."""
    reads = PgReads(pg.engine, pool_size=1, storage=pg)
    try:
        for _ in range(8):
            pid = (await reads._fetch("SELECT pg_backend_pid()", []))[0][0]
            async with pg.engine.connect() as connection:
                await connection.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
            assert (await reads._fetch("SELECT pg_backend_pid()", []))[0][0] != pid
    finally:
        await reads.close()


class FlakyPool:
    """Hands out a connection that is found closed, ``failures`` times."""

    def __init__(self, real: Any, failures: int) -> None:
        self.real, self.failures, self.expired = real, failures, 0

    def acquire(self) -> Any:
        return self if self.failures else self.real.acquire()

    async def __aenter__(self) -> FlakyPool:
        self.failures -= 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def fetch(self, *_args: object) -> list[Any]:
        raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")

    async def expire_connections(self) -> None:
        self.expired += 1


async def test_a_read_on_a_dead_connection_is_retried_once(pg: SqlStorage) -> None:
    team, _ = await two_teams(pg)
    await add_images(pg, image(team))
    reads = pg_reads(pg)
    real = await reads._open()
    flaky = reads._pool = FlakyPool(real, failures=1)
    assert (await reads.image_listing(ImageQuery(team_id=team), NOW, 10)).total == 1
    assert flaky.expired == 1
    reads._pool = FlakyPool(real, failures=2)
    with pytest.raises(Unavailable):
        await reads.image_family(team, 1, NOW)
    reads._pool = real


async def test_a_failing_statement_is_not_an_outage(pg: SqlStorage) -> None:
    with pytest.raises(asyncpg.PostgresError):
        await pg_reads(pg)._fetch("SELECT no_such_column FROM images", [])


async def test_an_unreachable_database_is_unavailable() -> None:
    if POSTGRES_URL is None:
        pytest.skip(NO_POSTGRES)
    storage = open_storage("postgresql://postgres@127.0.0.1:9/nowhere")
    try:
        with pytest.raises(Unavailable):
            await storage.reads().image_listing(ImageQuery(team_id=1), NOW, 10)
        with pytest.raises(Unavailable):
            await storage.reads().image_family(1, 1, NOW)
    finally:
        await storage.close()


async def test_close_closes_the_pool_and_a_later_read_reopens_it(pg: SqlStorage) -> None:
    team, _ = await two_teams(pg)
    await add_images(pg, image(team))
    reads = pg_reads(pg)
    await reads.image_listing(ImageQuery(team_id=team), NOW, 10)
    await reads.close()
    assert (await reads.image_listing(ImageQuery(team_id=team), NOW, 10)).total == 1


def test_tags_parse_as_the_standard_library_does() -> None:
    """Both read paths parse ``tags`` with ``rows.json_loads``."""
    for text in ('["Sea", "été", "😀", "a\\"b"]', '["\\ud800"]', "[]"):
        assert json_loads(text) == json.loads(text)
