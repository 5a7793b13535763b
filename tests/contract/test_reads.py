"""What only the SQL backend's read path promises, beside the read contract
(``rankion_core.testing.storage.reads``, run by ``test_storage.py``): SQLite files are
read through the stdlib driver with SQL and plans of their own, and a filtered total
is bounded everywhere but where a kept count answers it."""

from __future__ import annotations

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
