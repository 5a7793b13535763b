"""What only the SQL backend promises: URLs, outages, UTC types, constraints, SQLite set-up."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import threading
from datetime import datetime, timedelta, timezone
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import ClauseElement, event, text
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.exc import IntegrityError, StatementError

from rankion_core.errors import Invalid, Unavailable
from rankion_core.models import ImageSort, LedgerEntry, Share
from rankion_core.ports import ImageQuery
from rankion_core.testing.builders import T0, add_images, at, image, job, make_team, two_teams
from rankion_sqlalchemy import SqlStorage, open_storage, plans
from rankion_sqlalchemy.engine import normalise_url
from rankion_sqlalchemy.repositories.images import _similar_statements
from rankion_sqlalchemy.tables import images

from .backends import POSTGRES_URL, postgres_options


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+aiosqlite:////abs/x.db", "sqlite+aiosqlite:////abs/x.db"),
        ("postgresql://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+asyncpg://u@h/db"),
        ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ],
)
def test_urls_get_the_async_driver(url: str, expected: str) -> None:
    assert normalise_url(url).render_as_string(hide_password=False) == expected


def test_other_schemes_are_refused() -> None:
    with pytest.raises(Invalid):
        normalise_url("mysql://u@h/db")


def test_the_entry_points_open_this_backend() -> None:
    found = {ep.name: ep for ep in entry_points(group="rankion.storage")}
    assert found["sqlite"].load() is open_storage
    assert found["postgresql"].load() is open_storage


async def test_ping_answers_when_up(sql_storage: SqlStorage) -> None:
    await sql_storage.ping()


async def test_ping_and_units_of_work_raise_unavailable_when_down(tmp_path: Path) -> None:
    for storage in (
        open_storage("postgresql://nobody@127.0.0.1:1/none"),
        open_storage(f"sqlite:///{tmp_path}/missing/dir/x.db"),
    ):
        try:
            with pytest.raises(Unavailable):
                await storage.ping()
            with pytest.raises(Unavailable):
                async with storage.unit_of_work() as uow:
                    await uow.teams.get(1)
        finally:
            await storage.close()
    await _aiosqlite_threads_done()


async def _aiosqlite_threads_done() -> None:
    """aiosqlite stops the thread of a connection that failed to open by posting to
    the loop from that thread; let it finish while this test's loop still runs."""
    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join, 5)


async def test_a_naive_datetime_is_refused(sql_storage: SqlStorage) -> None:
    team = await make_team(sql_storage)
    with pytest.raises(StatementError, match="naive datetime"):
        await add_images(sql_storage, image(team.id, created_at=datetime(2025, 1, 1)))


async def test_times_come_back_aware_utc_whatever_offset_went_in(sql_storage: SqlStorage) -> None:
    team = await make_team(sql_storage)
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2025, 3, 1, 14, 0, 0, 123456, tzinfo=plus_two)
    (img,) = await add_images(sql_storage, image(team.id, created_at=local))
    async with sql_storage.unit_of_work() as uow:
        loaded = await uow.images.get(team.id, img.id)
    assert loaded is not None
    assert loaded.created_at == local
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.created_at.hour == 12


async def test_a_refund_can_never_be_written_twice(sql_storage: SqlStorage) -> None:
    team = await make_team(sql_storage)
    async with sql_storage.unit_of_work() as uow:
        added = await uow.jobs.add(job(team.id))
        await uow.ledger.add(LedgerEntry(0, team.id, 5, "refund", T0, job_id=added.id))
        await uow.ledger.add(LedgerEntry(0, team.id, 5, "grant", T0))
        await uow.ledger.add(LedgerEntry(0, team.id, 5, "grant", T0))  # no job: no limit
        await uow.commit()
    with pytest.raises(IntegrityError):
        async with sql_storage.unit_of_work() as uow:
            await uow.ledger.add(LedgerEntry(0, team.id, 5, "refund", at(1), job_id=added.id))


async def test_the_balance_cannot_go_negative_even_by_mistake(sql_storage: SqlStorage) -> None:
    team = await make_team(sql_storage, credits=3)
    with pytest.raises(IntegrityError):
        async with sql_storage.unit_of_work() as uow:
            await uow.teams.credit(team.id, -4)


async def test_share_tokens_are_unique(sql_storage: SqlStorage) -> None:
    team, _ = await two_teams(sql_storage)
    a, b = await add_images(sql_storage, image(team), image(team))
    async with sql_storage.unit_of_work() as uow:
        await uow.shares.add(Share(0, team, a.id, "same", T0))
        with pytest.raises(IntegrityError):
            await uow.shares.add(Share(0, team, b.id, "same", T0))


async def test_ids_of_deleted_images_are_never_reused(sql_storage: SqlStorage) -> None:
    team = await make_team(sql_storage)
    _, last = await add_images(sql_storage, image(team.id), image(team.id))
    async with sql_storage.unit_of_work() as uow:
        await uow.images.delete(team.id, last.id)
        await uow.commit()
    (new,) = await add_images(sql_storage, image(team.id))
    assert new.id > last.id


async def test_an_update_writes_what_changed_since_the_read(sql_storage: SqlStorage) -> None:
    """An image read by key and changed writes the changed fields only (a list changed
    in place counts); one not read in the unit of work writes every field."""
    team = await make_team(sql_storage)
    (stored,) = await add_images(sql_storage, image(team.id, title="old", tags=["a"]))
    sent: list[str] = []

    def capture(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("UPDATE images"):
            sent.append(statement.split(" WHERE ")[0])

    engine = sql_storage.inline_engine or sql_storage.engine.sync_engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        async with sql_storage.unit_of_work() as uow:
            loaded = await uow.images.get(team.id, stored.id)
            assert loaded is not None
            loaded.title = "new"
            loaded.tags.append("b")
            await uow.images.update(loaded, tags=False)
            await uow.commit()
        async with sql_storage.unit_of_work() as uow:
            await uow.images.update(stored, tags=False)  # not read here: every field
            await uow.commit()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    narrow, whole = sent
    assert "title" in narrow and "tags" in narrow, narrow
    assert "prompt" not in narrow and "created_at" not in narrow, narrow
    assert "prompt" in whole and "created_at" in whole, whole
    async with sql_storage.unit_of_work() as uow:
        again = await uow.images.get(team.id, stored.id)
    assert again is not None and (again.title, again.tags) == ("old", ["a"])  # the last write


async def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/x.db", busy_timeout_ms=1234)
    try:
        async with storage.engine.connect() as connection:
            pragmas = [
                (await connection.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout")
            ]
    finally:
        await storage.close()
    assert pragmas == ["wal", 1, 1234]


async def test_sqlite_units_of_work_begin_immediate(tmp_path: Path) -> None:
    """A second writer waits for the first instead of failing half-way."""
    storage = open_storage(f"sqlite:///{tmp_path}/x.db", busy_timeout_ms=50)
    await storage.migrate()
    try:
        async with storage.unit_of_work() as first:
            await first.teams.get(1)  # a read begins the transaction ... IMMEDIATE
            with pytest.raises(Unavailable):  # so another writer cannot get in
                async with storage.unit_of_work() as second:
                    await second.teams.get(1)
    finally:
        await storage.close()


async def test_a_sqlite_write_lock_held_by_another_process_never_blocks_the_loop(
    tmp_path: Path,
) -> None:
    """Units of work run inline on the loop's thread; while another connection (another
    process) holds the write lock, one waits for it without blocking the loop, then
    runs."""
    path = tmp_path / "x.db"
    storage = open_storage(f"sqlite:///{path}")
    await storage.migrate()
    team = await make_team(storage, credits=10)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # the write lock, as another process takes it

        async def credit() -> int:
            async with storage.unit_of_work() as uow:
                credits = await uow.teams.credit(team.id, 5)
                await uow.commit()
            return credits

        waiting = asyncio.create_task(credit())
        turns = 0
        while turns < 20:  # the loop keeps running other tasks meanwhile
            await asyncio.sleep(0)
            turns += 1
        assert not waiting.done()
        other.execute("COMMIT")
        assert await waiting == 15
    finally:
        other.close()
        await storage.close()


async def _copies(storage: SqlStorage, image_id: int, n: int) -> None:
    """``n`` copies of the image ``image_id`` (SQLite), each with a random hash."""
    columns = ", ".join(c.name for c in images.c if c.name not in ("id", "phash"))
    async with storage.engine.begin() as connection:
        await connection.execute(
            text(
                "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < :n) "
                f"INSERT INTO images ({columns}, phash) "
                f"SELECT {columns}, random() FROM images, k WHERE images.id = :id"
            ),
            {"n": n, "id": image_id},
        )


async def test_a_wide_similar_lets_other_tasks_run_while_it_reads(tmp_path: Path) -> None:
    """``similar`` past the hash bands reads every hash of the team: on SQLite, where
    units of work run inline on the loop's thread, that statement runs on a worker
    thread, and nothing in it comes back to Python per hash (the distance is counted
    in SQL, the page ordered and cut out in SQL), so the loop serves other tasks
    (other teams' requests) all along: the longest the loop goes without serving a
    ticking task is a small part of the call. A Python distance function per row, or
    every match (half the team's hashes here) handed back to be sorted in Python,
    made that gap 0.36 to 0.75 of the call (``benchmarks.similar`` measures it)."""
    storage = open_storage(f"sqlite:///{tmp_path}/x.db")
    await storage.migrate()
    try:
        team, _ = await two_teams(storage)
        near, far, itself = await add_images(
            storage, image(team, phash=0b1011), image(team, phash=-1), image(team, phash=0)
        )
        await _copies(storage, far.id, 40_000)
        order: list[str] = []

        async def similar() -> tuple[list[tuple[int, int]], int]:
            async with storage.unit_of_work() as uow:
                found, total = await uow.images.similar(team, 0, 32, itself.id, 1, 1)
            order.append("similar")
            return [(i.id, d) for i, d in found], total

        async def other() -> None:
            order.append("other")

        (found, total), _ = await asyncio.gather(similar(), other())
        assert order == ["other", "similar"]
        assert found == [(near.id, 3)]  # -1 is 64 bits away, the image itself left out
        assert 10_000 < total < 30_000  # about half of the random hashes

        # nothing in the statements comes back to Python per hash: no function but
        # SQLite's own (the loop's longest gap meanwhile is measured by benchmarks.similar)
        for banded in (False, True):
            for statement in _similar_statements("sqlite", banded):
                assert isinstance(statement, ClauseElement)
                sql = str(statement.compile(dialect=sqlite_dialect()))
                assert set(re.findall(r"(\w+)\(", sql)) <= {"count", "IN"}, sql
    finally:
        await storage.close()


def test_an_unknown_begin_mode_is_refused() -> None:
    with pytest.raises(Invalid):
        open_storage("sqlite:///x.db", sqlite_begin="sometimes")


@pytest.mark.parametrize("drive_limit", [0, 3000], ids=["probe", "drive"])
async def test_both_sqlite_plans_for_match_filters_agree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, drive_limit: int
) -> None:
    """SQLite picks ``probe`` or ``drive`` by the size of the smallest match set."""
    monkeypatch.setattr(plans, "DRIVE_LIMIT", drive_limit)
    storage = open_storage(f"sqlite:///{tmp_path}/x.db")
    await storage.migrate()
    try:
        team, other = await two_teams(storage)
        made = await add_images(
            storage,
            *(
                image(team, prompt=f"sunset no{i}", tags=["Sky"] if i % 3 else [], created_at=at(i))
                for i in range(12)
            ),
            image(team, prompt="sunset", tags=["sky"], deleted_at=at(1)),
            image(other, prompt="sunset", tags=["sky"]),
        )
        expected = [img.id for i, img in enumerate(made[:12]) if i % 3][::-1]

        async def listed(**query: Any) -> tuple[list[int], int]:
            async with storage.unit_of_work() as uow:
                items, total = await uow.images.list(ImageQuery(team_id=team, **query))
            return [i.id for i in items], total

        assert await listed(tags=("SKY",), per_page=3) == (expected[:3], 8)
        assert await listed(tags=("sky",), q="suns", per_page=3, page=3) == (expected[6:], 8)
        assert await listed(q="sunset", sort=ImageSort.OLDEST, per_page=2) == (
            [made[0].id, made[1].id],
            12,
        )
        assert await listed(q="no1", tags=("sky",)) == ([made[11].id, made[10].id, made[1].id], 3)
    finally:
        await storage.close()


def _postgres(schema: str, **options: Any) -> SqlStorage:
    assert POSTGRES_URL is not None
    return open_storage(POSTGRES_URL, **postgres_options(schema), **options)


async def _backend_pid(storage: SqlStorage) -> int:
    async with storage.unit_of_work() as uow:
        return int((await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_postgres_connections_in_steady_use_are_not_pinged(
    postgres_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = _postgres(postgres_schema, ping_after_idle=3600)
    pings: list[object] = []
    monkeypatch.setattr(storage.engine.dialect, "do_ping", pings.append)
    try:
        for _ in range(3):
            await _backend_pid(storage)
    finally:
        await storage.close()
    assert pings == []  # the pool's pre-ping is three round trips per unit of work


async def test_postgres_replaces_an_idle_connection_found_dead(postgres_schema: str) -> None:
    storage = _postgres(postgres_schema, ping_after_idle=0)
    try:
        pid = await _backend_pid(storage)  # its connection is back in the pool
        assert POSTGRES_URL is not None
        other = await asyncpg.connect(POSTGRES_URL)
        try:
            await other.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await other.close()
        assert await _backend_pid(storage) != pid
    finally:
        await storage.close()
