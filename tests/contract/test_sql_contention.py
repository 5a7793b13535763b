"""PostgreSQL ending a transaction so that another can go on (a deadlock) is a
``503`` the client may retry, not a ``500``."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

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


async def test_a_statement_timeout_is_unavailable(sql_storage: SqlStorage) -> None:
    """A statement PostgreSQL cancelled at its ``statement_timeout`` may well run when
    sent again: a ``503``, not a ``500``."""
    if sql_storage.dialect != "postgresql":
        pytest.skip("SQLite has no statement timeout")

    async def slow() -> None:
        async with sql_storage.unit_of_work() as uow:
            await uow.session.execute(text("SET LOCAL statement_timeout = '20ms'"))
            await uow.session.execute(text("SELECT pg_sleep(1)"))

    with pytest.raises(Unavailable, match="try again"):
        await slow()


async def test_a_prepared_statement_changed_by_a_schema_change_is_unavailable(
    sql_storage: SqlStorage,
) -> None:
    """A column's type changed by another connection fails a statement prepared before
    (``cached plan must not change result type``) once: a ``503``, and the next unit
    of work prepares it anew."""
    if sql_storage.dialect != "postgresql":
        pytest.skip("SQLite prepares nothing across units of work")
    team, _ = await two_teams(sql_storage)
    (img,) = await add_images(sql_storage, image(team, title="t"))

    async def read() -> None:
        async with sql_storage.unit_of_work() as uow:
            assert await uow.images.get(team, img.id) is not None
            assert await uow.images.get(team, img.id) is not None  # planned once warm

    for _ in range(3):
        await read()
    async with sql_storage.engine.connect() as other:
        await other.execute(text("ALTER TABLE images ALTER COLUMN title TYPE varchar(300)"))
        await other.commit()
    failures = 0
    for _ in range(12):  # one per pooled connection at most
        try:
            await read()
        except Unavailable:
            failures += 1
    await read()
    assert failures <= 10, failures
