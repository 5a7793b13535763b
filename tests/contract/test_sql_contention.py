"""PostgreSQL ending a transaction so that another can go on (a deadlock) is a
``503`` the client may retry, not a ``500``."""

from __future__ import annotations

import asyncio

import pytest

from rankion_core.errors import Unavailable
from rankion_core.testing.builders import add_images, image, two_teams
from rankion_sqlalchemy import SqlStorage


async def test_a_deadlock_is_unavailable_and_the_other_goes_on(sql_storage: SqlStorage) -> None:
    if sql_storage.dialect != "postgresql":
        pytest.skip("SQLite runs units of work one at a time: no deadlock")
    team, _ = await two_teams(sql_storage)
    a, b = await add_images(sql_storage, image(team), image(team))
    both_hold = asyncio.Barrier(2)

    async def lock(first: int, then: int) -> None:
        async with sql_storage.unit_of_work() as uow:
            await uow.images.get(team, first, for_update=True)
            await both_hold.wait()
            await uow.images.get(team, then, for_update=True)
            await uow.commit()

    outcomes = await asyncio.wait_for(
        asyncio.gather(lock(a.id, b.id), lock(b.id, a.id), return_exceptions=True), 30
    )
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failed) == 1, outcomes
    assert isinstance(failed[0], Unavailable), repr(failed[0])
