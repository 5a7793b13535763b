"""The shipped Alembic migrations build exactly the mapped schema, on both dialects."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateIndex

from rankion_core.models import EventStatus, EventType, ProcessingStatus
from rankion_core.rules.similar import distance, to_signed
from rankion_core.testing.builders import T0
from rankion_sqlalchemy import SqlStorage, open_storage
from rankion_sqlalchemy.schema import include_object, metadata_for
from rankion_sqlalchemy.storage import alembic_config
from rankion_sqlalchemy.tables import calendar_events, chat_sessions, images, projects, teams

from .backends import NO_POSTGRES, POSTGRES_URL, postgres_options

# SQLite's reflection skips indexes on expressions (the hash bands) and Alembic's
# comparison leaves them out there, both saying so; ``test_sqlite_gets_the_hash_band_indexes``
# reads them from ``sqlite_master`` instead
pytestmark = [
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
    pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based"),
]


@pytest.fixture(params=["sqlite", "postgres"])
async def empty(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SqlStorage]:
    """A database with nothing in it (PostgreSQL: a new, empty schema)."""
    if request.param == "sqlite":
        storage = open_storage(f"sqlite:///{tmp_path}/empty.db")
        yield storage
        await storage.close()
        return
    if POSTGRES_URL is None:
        pytest.skip(NO_POSTGRES)
    schema = f"rankion_migrations_{uuid.uuid4().hex[:12]}"
    admin = open_storage(POSTGRES_URL)
    async with admin.engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    storage = open_storage(POSTGRES_URL, **postgres_options(schema))
    try:
        yield storage
    finally:
        await storage.close()
        async with admin.engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.close()


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"include_object": include_object, "compare_type": True}
    )
    return list(compare_metadata(context, metadata_for(connection.dialect.name)))


def _snapshot(connection: Connection) -> dict[str, Any]:
    """Every table with its columns and indexes, and the Alembic revision."""
    inspector = inspect(connection)
    tables = {
        name: (
            [c["name"] for c in inspector.get_columns(name)],
            sorted(str(i["name"]) for i in inspector.get_indexes(name)),
        )
        for name in inspector.get_table_names()
    }
    revision = sorted(MigrationContext.configure(connection).get_current_heads())
    return {"tables": tables, "revision": revision}


def _script_heads() -> list[str]:
    """Every head of the shipped migrations (parallel branches each have one)."""
    return sorted(ScriptDirectory.from_config(alembic_config()).get_heads())


async def _run(storage: SqlStorage, fn: Any) -> Any:
    async with storage.engine.connect() as connection:
        return await connection.run_sync(fn)


async def test_upgrade_builds_exactly_the_mapped_schema(empty: SqlStorage) -> None:
    await empty.migrate()
    assert await _run(empty, _differences) == []
    snapshot = await _run(empty, _snapshot)
    assert snapshot["revision"] == _script_heads()
    assert {"images", "jobs", "teams", "image_tags", "alembic_version"} <= set(snapshot["tables"])


async def test_the_comparison_would_see_a_missing_index(empty: SqlStorage) -> None:
    await empty.migrate()
    async with empty.engine.begin() as connection:
        await connection.execute(text("DROP INDEX ix_images_newest"))
    differences = await _run(empty, _differences)
    assert [d[0] for d in differences] == ["add_index"]


async def test_migrating_twice_changes_nothing(empty: SqlStorage) -> None:
    await empty.migrate()
    before = await _run(empty, _snapshot)
    await empty.migrate()
    assert await _run(empty, _snapshot) == before
    assert await _run(empty, _differences) == []


async def test_sqlite_gets_its_full_text_index_and_triggers(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/x.db")
    try:
        await storage.migrate()
        async with storage.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT type, name FROM sqlite_master WHERE name LIKE 'images_fts%'")
            )
            found = {tuple(row) for row in rows}
    finally:
        await storage.close()
    assert {
        ("table", "images_fts"),
        ("trigger", "images_fts_insert"),
        ("trigger", "images_fts_delete"),
        ("trigger", "images_fts_update"),
    } <= found


def _plain(sql: str) -> str:
    """DDL without its layout: spaces and grouping parentheses (SQLite compares the
    parsed expression, not the text, when it matches a query to an index)."""
    return " ".join(sql.replace("(", " ").replace(")", " ").replace(",", " ").split())


async def test_sqlite_gets_the_hash_band_indexes(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/x.db")
    try:
        await storage.migrate()
        async with storage.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE name LIKE 'ix_images_phash_band%'")
            )
            made = {name: _plain(sql) for name, sql in rows}
    finally:
        await storage.close()
    mapped = [i for i in images.indexes if str(i.name).startswith("ix_images_phash_band")]
    assert len(mapped) == 4
    for index in mapped:
        sql = str(CreateIndex(index).compile(dialect=storage.engine.dialect))
        assert made[str(index.name)] == _plain(sql)


def _hashes() -> list[int]:
    return [to_signed(0xFEED_0000_0000_0000 ^ (2**n - 1)) for n in range(12)]


async def test_upgrade_indexes_the_hashes_already_stored(empty: SqlStorage) -> None:
    """Images hashed before the band indexes: the upgrade indexes them, and ``similar``
    finds them through the bands as it did through the scan."""

    def to_web_ready(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), "0011_web_ready")

    async with empty.engine.begin() as connection:
        await connection.run_sync(to_web_ready)
        team = (
            await connection.execute(
                insert(teams).values(name="acme", credits=0, created_at=T0).returning(teams.c.id)
            )
        ).scalar_one()
        await connection.execute(insert(images), [_image_row(team, phash=h) for h in _hashes()])
    await empty.migrate()
    query = _hashes()[0]
    for max_distance in (8, 20):
        async with empty.unit_of_work() as uow:
            found, total = await uow.images.similar(team, query, max_distance, 0, 1, 50)
        assert [(i.phash, d) for i, d in found] == [
            (h, distance(h, query)) for h in _hashes() if distance(h, query) <= max_distance
        ]
        assert total == min(max_distance, 11) + 1
    async with empty.engine.connect() as connection:
        if empty.dialect == "postgresql":  # a dozen rows: a plain read would be cheaper
            await connection.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(
            str(row[-1])
            for row in await connection.exec_driver_sql(
                ("EXPLAIN QUERY PLAN " if empty.dialect == "sqlite" else "EXPLAIN ")
                + "SELECT id FROM images WHERE team_id = 1 AND deleted_at IS NULL"
                " AND phash IS NOT NULL AND ((phash >> 48) & 65535) = 65261"
            )
        )
    assert "ix_images_phash_band48" in plan, plan


async def test_downgrade_to_base_and_back(empty: SqlStorage) -> None:
    await empty.migrate()

    def downgrade(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "base")

    async with empty.engine.begin() as connection:
        await connection.run_sync(downgrade)
    assert set((await _run(empty, _snapshot))["tables"]) == {"alembic_version"}
    await empty.migrate()
    assert await _run(empty, _differences) == []


async def test_team_counts_count_the_rows_already_there_and_go_on_downgrade(
    empty: SqlStorage,
) -> None:
    """``0017_team_counts`` counts each team's projects, events and chat sessions
    stored before it; its triggers keep the counts; its downgrade takes table and
    triggers away (the tables write as before), and a new upgrade counts again."""

    def to(revision: str) -> Any:
        def run(connection: Connection) -> None:
            if revision == "0016_counts_at_commit" and _at_head(connection):
                command.downgrade(alembic_config(connection), revision)
            else:
                command.upgrade(alembic_config(connection), revision)

        return run

    async def write(*statements: Any) -> list[int]:
        async with empty.engine.begin() as connection:
            return [(await connection.execute(s)).scalar_one() for s in statements]

    async def counted(team: int) -> tuple[int, int, int]:
        async with empty.unit_of_work() as uow:
            return (
                await uow.projects.count(team),
                await uow.events.count(team),
                await uow.chats.count(team),
            )

    async with empty.engine.begin() as connection:
        await connection.run_sync(to("0016_counts_at_commit"))
    team, other = await write(*(_team(name) for name in ("acme", "globex")))
    project, _ = await write(_project(team), _project(other))
    picture, _ = await write(_image(team), _image(team))
    await write(_event(team, project), _event(team, project), _chat(team, picture))
    await empty.migrate()
    assert (await counted(team), await counted(other)) == ((1, 2, 1), (1, 0, 0))
    await write(_event(team, project), _chat(team, picture))
    async with empty.engine.begin() as connection:
        await connection.execute(text("DELETE FROM chat_sessions"))
    assert await counted(team) == (1, 3, 0)

    async with empty.engine.begin() as connection:
        await connection.run_sync(to("0016_counts_at_commit"))
    assert "team_counts" not in (await _run(empty, _snapshot))["tables"]
    await write(_event(team, project), _chat(team, picture))  # no trigger left behind
    await empty.migrate()
    assert await counted(team) == (1, 4, 1)
    assert await _run(empty, _differences) == []


def _at_head(connection: Connection) -> bool:
    return sorted(MigrationContext.configure(connection).get_current_heads()) == _script_heads()


def _team(name: str) -> Any:
    return insert(teams).values(name=name, credits=0, created_at=T0).returning(teams.c.id)


def _project(team: int) -> Any:
    values = {"team_id": team, "name": "blog", "created_at": T0}
    return insert(projects).values(**values).returning(projects.c.id)


def _event(team: int, project: int) -> Any:
    values = {
        "team_id": team,
        "project_id": project,
        "title": "launch",
        "type": EventType.ARTICLE,
        "status": EventStatus.IDEA,
        "created_at": T0,
        "updated_at": T0,
    }
    return insert(calendar_events).values(**values).returning(calendar_events.c.id)


def _image(team: int) -> Any:
    return insert(images).values(**_image_row(team)).returning(images.c.id)


def _image_row(team: int, **extra: Any) -> dict[str, Any]:
    """An image's row as an old revision stores it (no column later ones add)."""
    return {
        "team_id": team,
        "prompt": "p",
        "model": "m",
        "size": "s",
        "quality": "q",
        "created_at": T0,
        "updated_at": T0,
        "output_format": "png",
        "tags": [],
        "is_favorite": False,
        "processing_status": ProcessingStatus.READY,
        "credits_charged": 0,
        "share_views": 0,
        "search_text": "p",
        **extra,
    }


def _chat(team: int, image_id: int) -> Any:
    values = {"team_id": team, "gallery_image_id": image_id, "created_at": T0}
    return insert(chat_sessions).values(**values).returning(chat_sessions.c.id)
