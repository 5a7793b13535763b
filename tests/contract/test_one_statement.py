"""``one_statement(uow)``: a unit of work declared to make one statement, which a
backend may run outside a transaction (PostgreSQL: autocommit; a SQLite file runs it in
the transaction of its group commit, durable once the unit of work is left)."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from rankion_core.errors import Unavailable
from rankion_core.ports import Storage, one_statement
from rankion_core.testing.builders import add_images, at, image, two_teams
from rankion_memory import MemoryStorage
from rankion_sqlalchemy import SqlStorage, open_storage
from rankion_sqlalchemy.engine import sqlite_file


async def test_a_toggle_in_one_statement_is_stored_and_stays_in_its_team(
    storage: Storage,
) -> None:
    team, other = await two_teams(storage)
    (img,) = await add_images(storage, image(team, title="Kept"))
    for who, which in ((other, img.id), (team, img.id + 1000)):
        async with storage.unit_of_work() as uow:
            one_statement(uow)
            assert await uow.images.toggle_favorite(who, which, at(7)) is None
    async with storage.unit_of_work() as uow:
        one_statement(uow)
        flipped = await uow.images.toggle_favorite(team, img.id, at(7))
        await uow.commit()
    assert flipped is True
    async with storage.unit_of_work() as uow:
        stored = await uow.images.get(team, img.id)
        assert stored is not None and (stored.is_favorite, stored.title) == (True, "Kept")
        assert await uow.images.get(other, img.id) is None


async def _toggle(storage: SqlStorage, team: int, image_id: int, hour: int) -> bool | None:
    async with storage.unit_of_work() as uow:
        one_statement(uow)
        flipped = await uow.images.toggle_favorite(team, image_id, at(hour))
        await uow.commit()
    return flipped


async def _favourite_elsewhere(storage: SqlStorage, team: int, image_id: int) -> bool:
    """The flag as another connection sees it (on SQLite, one outside the storage:
    its units of work take turns on one connection)."""
    path = sqlite_file(storage.engine.url)
    if path is None:
        async with storage.unit_of_work() as elsewhere:
            seen = await elsewhere.images.get(team, image_id)
        assert seen is not None
        return seen.is_favorite
    other = sqlite3.connect(path)
    try:
        row = other.execute("SELECT is_favorite FROM images WHERE id = ?", (image_id,))
        (flag,) = row.fetchone()
    finally:
        other.close()
    return bool(flag)


async def test_the_statement_is_committed_when_it_returns_or_when_the_block_ends(
    sql_storage: SqlStorage,
) -> None:
    team, _ = await two_teams(sql_storage)
    (img,) = await add_images(sql_storage, image(team))
    for hour in (1, 2):  # on SQLite the statement gets its plan on its second run
        await _toggle(sql_storage, team, img.id, hour)
    inline = sqlite_file(sql_storage.engine.url) is not None
    async with sql_storage.unit_of_work() as uow:
        one_statement(uow)
        flipped = await uow.images.toggle_favorite(team, img.id, at(7))
        assert flipped is True
        if not inline:  # autocommit: committed already
            assert await _favourite_elsewhere(sql_storage, team, img.id)
        await uow.commit()
    assert await _favourite_elsewhere(sql_storage, team, img.id)  # every backend, by now


async def _on_a_sqlite_file(storage: SqlStorage) -> tuple[str, int, int]:
    """The file, a team and its image (skipped but on a SQLite file: its units of
    work run inline)."""
    path = sqlite_file(storage.engine.url)
    if path is None:
        pytest.skip("a SQLite file's units of work run inline")
    team, _ = await two_teams(storage)
    (img,) = await add_images(storage, image(team))
    return path, team, img.id


async def test_on_sqlite_it_waits_for_another_process_holding_the_write_lock(
    sql_storage: SqlStorage,
) -> None:
    path, team, image_id = await _on_a_sqlite_file(sql_storage)
    for hour in (1, 2):
        await _toggle(sql_storage, team, image_id, hour)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process writes
        waiting = asyncio.ensure_future(_toggle(sql_storage, team, image_id, 7))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # not failed: waiting, the loop free meanwhile
        other.execute("COMMIT")
        assert await asyncio.wait_for(waiting, 5) is True
    finally:
        other.close()


async def test_on_sqlite_a_write_lock_held_past_the_busy_timeout_is_unavailable(
    sql_storage: SqlStorage,
) -> None:
    path, team, image_id = await _on_a_sqlite_file(sql_storage)
    impatient = open_storage(f"sqlite:///{path}", busy_timeout_ms=100)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        for hour in (1, 2):
            await _toggle(impatient, team, image_id, hour)
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(Unavailable):
            await _toggle(impatient, team, image_id, 7)
        other.execute("ROLLBACK")
    finally:
        other.close()
        await impatient.close()
    async with sql_storage.unit_of_work() as uow:
        kept = await uow.images.get(team, image_id)
    assert kept is not None and kept.is_favorite is False  # flipped twice, not a third time


async def test_a_second_statement_is_refused(sql_storage: SqlStorage) -> None:
    team, _ = await two_teams(sql_storage)
    (img,) = await add_images(sql_storage, image(team))
    async with sql_storage.unit_of_work() as uow:
        one_statement(uow)
        await uow.images.toggle_favorite(team, img.id, at(7))
        with pytest.raises(RuntimeError, match="second statement"):
            await uow.images.toggle_favorite(team, img.id, at(8))


async def test_it_is_refused_after_a_statement(sql_storage: SqlStorage) -> None:
    team, _ = await two_teams(sql_storage)
    async with sql_storage.unit_of_work() as uow:
        assert await uow.images.get(team, 1) is None
        with pytest.raises(RuntimeError, match="first statement"):
            one_statement(uow)


async def test_units_of_work_without_it_stay_transactions() -> None:
    memory = MemoryStorage()
    team, _ = await two_teams(memory)
    (img,) = await add_images(memory, image(team))

    class Earlier:
        """A unit of work written before ``one_statement`` existed."""

        def __init__(self, inner: Any) -> None:
            self.images = inner.images

    async with memory.unit_of_work() as uow:
        one_statement(Earlier(uow))  # type: ignore[arg-type]
        flipped = await uow.images.toggle_favorite(team, img.id, at(7))
        await uow.commit()
    assert flipped is True
