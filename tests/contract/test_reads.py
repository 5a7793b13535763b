"""What only the SQL backend's read path promises, beside the read contract
(``rankion_core.testing.storage.reads``, run by ``test_storage.py``): SQLite files are
read through the stdlib driver with SQL and plans of their own, and a filtered total
is bounded everywhere but where a kept count answers it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from rankion_core.errors import Unavailable
from rankion_core.ports import ImageQuery
from rankion_core.testing.builders import at
from rankion_core.testing.storage.reads import NOW, seed
from rankion_sqlalchemy import SqlStorage, open_storage, sqlite_reads
from rankion_sqlalchemy.sqlite_reads import SqliteReads


async def test_a_filtered_total_is_bounded_except_the_kept_count(sql_storage: SqlStorage) -> None:
    team, _, _ = await seed(sql_storage)
    for where in ({"favorite": False}, {"q": "harb"}, {"tags": ("sea",)}, {}):
        query = ImageQuery(team_id=team, per_page=2, **where)
        found = await sql_storage.reads().image_listing(query, NOW, 3)
        assert found.total_exact is (not where)


async def test_sqlite_files_read_through_the_stdlib_driver(sql_storage: SqlStorage) -> None:
    if sql_storage.dialect != "sqlite":
        pytest.skip("SQLite only")
    assert isinstance(sql_storage.reads(), SqliteReads)


def test_sqlite_time_is_the_stored_form() -> None:
    assert sqlite_reads.sqlite_time(at(0) + timedelta(microseconds=5)) == (
        "2025-03-01 12:00:00.000005"
    )


async def test_sqlite_reads_never_create_a_database(tmp_path: Path) -> None:
    """Reading before the file exists is ``Unavailable`` (503), not a new empty file."""
    missing = tmp_path / "not-yet" / "rankion.db"
    reads = SqliteReads(str(missing))
    with pytest.raises(Unavailable):
        await reads.image_listing(ImageQuery(team_id=1), NOW, 10)
    await reads.close()
    assert not missing.exists()


async def test_sqlite_reads_handle_odd_paths(tmp_path: Path) -> None:
    folder = tmp_path / "a dir with spaces & #?%"
    folder.mkdir()
    storage = open_storage(f"sqlite:///{folder / 'rankion.db'}")
    try:
        await storage.migrate()
        team, _, _ = await seed(storage)
        found = await storage.reads().image_listing(ImageQuery(team_id=team), NOW, 10)
        assert found.images
    finally:
        await storage.close()


async def seeded_sqlite(storage: SqlStorage) -> tuple[SqliteReads, int, int]:
    """The read path of a seeded SQLite storage, and its two teams (skipped elsewhere)."""
    if storage.dialect != "sqlite":
        pytest.skip("SQLite only")
    team, other, _ = await seed(storage)
    reads = storage.reads()
    assert isinstance(reads, SqliteReads)
    return reads, team, other


async def test_an_answer_over_its_loop_budget_is_answered_on_a_reader(
    sql_storage: SqlStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut short on the loop, the same answer comes from a reader thread, and the
    team's next answers go there at once; another team's stay on the loop."""
    reads, team, other = await seeded_sqlite(sql_storage)
    queries = [ImageQuery(team_id=team, q="harb"), ImageQuery(team_id=team)]
    expected = [await reads.image_listing(q, NOW, 10) for q in queries]
    threads: list[str] = []
    listing = sqlite_reads._listing

    def spy(*args: object) -> object:
        threads.append(threading.current_thread().name)
        return listing(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite_reads, "_listing", spy)
    # every answer over its budget: cut short at its first step on the loop
    monkeypatch.setattr(sqlite_reads, "INLINE_BUDGET", 0.0)
    monkeypatch.setattr(sqlite_reads, "PROGRESS_STEPS", 1)
    assert await reads.image_listing(queries[0], NOW, 10) == expected[0]
    monkeypatch.setattr(sqlite_reads, "INLINE_BUDGET", 10.0)
    assert await reads.image_listing(queries[1], NOW, 10) == expected[1]  # remembered
    await reads.image_listing(ImageQuery(team_id=other), NOW, 10)
    loop = threading.current_thread().name
    assert [t.startswith("rankion-read") for t in threads] == [True, True, False]
    assert threads[2] == loop


async def test_an_fts5_count_over_its_budget_is_the_cap(
    sql_storage: SqlStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted on a reader only, and cut short it is 'too many to drive from'."""
    reads, team, _ = await seeded_sqlite(sql_storage)
    sql = sqlite_reads.ListSql(ImageQuery(team_id=team, q="harb"))
    con = reads._connection()
    counted = sqlite_reads._fts_count(con, sql)
    assert 0 < counted < sqlite_reads.FTS_ESTIMATE_CAP
    monkeypatch.setattr(sqlite_reads, "FTS_BUDGET", 0.0)
    monkeypatch.setattr(sqlite_reads, "FTS_STEPS", 1)
    assert sqlite_reads._fts_count(con, sql) == sqlite_reads.FTS_ESTIMATE_CAP
    sqlite_reads._answering.on_loop = True
    try:
        with pytest.raises(sqlite_reads.OverBudget):
            sqlite_reads._fts_count(con, sql)
    finally:
        sqlite_reads._answering.on_loop = False
    await reads.close()


async def test_an_answer_cut_short_leaves_the_loops_connection_usable(
    sql_storage: SqlStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its read transaction is rolled back, not cut short as well."""
    reads, team, other = await seeded_sqlite(sql_storage)
    expected = await reads.image_listing(ImageQuery(team_id=other), NOW, 10)
    listing = sqlite_reads._listing

    def slow(*args: object) -> object:
        time.sleep(0.02)  # past the budget: its next statement is cut short
        return listing(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(sqlite_reads, "_listing", slow)
    monkeypatch.setattr(sqlite_reads, "PROGRESS_STEPS", 1)
    await reads.image_listing(ImageQuery(team_id=team), NOW, 10)  # cut short, then a reader
    monkeypatch.setattr(sqlite_reads, "_listing", listing)
    assert await reads.image_listing(ImageQuery(team_id=other), NOW, 10) == expected
