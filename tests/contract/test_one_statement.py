"""``one_statement(uow)``: a unit of work declared to make one statement, which a
backend may run outside a transaction (PostgreSQL: autocommit)."""

from __future__ import annotations

from typing import Any

import pytest

from rankion_core.ports import Storage, one_statement
from rankion_core.testing.builders import add_images, at, image, two_teams
from rankion_memory import MemoryStorage
from rankion_sqlalchemy import SqlStorage


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
    assert flipped is not None and flipped.is_favorite
    async with storage.unit_of_work() as uow:
        assert await uow.images.get(team, img.id) == flipped
        assert await uow.images.get(other, img.id) is None


def _postgres_only(storage: SqlStorage) -> None:
    if storage.dialect != "postgresql":
        pytest.skip("SQLite runs it as any unit of work")


async def test_on_postgresql_the_statement_is_committed_when_it_returns(
    sql_storage: SqlStorage,
) -> None:
    _postgres_only(sql_storage)
    team, _ = await two_teams(sql_storage)
    (img,) = await add_images(sql_storage, image(team))
    async with sql_storage.unit_of_work() as uow:
        one_statement(uow)
        assert await uow.images.toggle_favorite(team, img.id, at(7)) is not None
        async with sql_storage.unit_of_work() as elsewhere:  # another connection
            seen = await elsewhere.images.get(team, img.id)
        assert seen is not None and seen.is_favorite


async def test_on_postgresql_a_second_statement_is_refused(sql_storage: SqlStorage) -> None:
    _postgres_only(sql_storage)
    team, _ = await two_teams(sql_storage)
    (img,) = await add_images(sql_storage, image(team))
    async with sql_storage.unit_of_work() as uow:
        one_statement(uow)
        await uow.images.toggle_favorite(team, img.id, at(7))
        with pytest.raises(RuntimeError, match="second statement"):
            await uow.images.toggle_favorite(team, img.id, at(8))


async def test_on_postgresql_it_is_refused_after_a_statement(sql_storage: SqlStorage) -> None:
    _postgres_only(sql_storage)
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
    assert flipped is not None and flipped.is_favorite
