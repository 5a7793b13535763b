"""PostgreSQL ending a transaction so that another can go on (a deadlock) is a
``503`` the client may retry, not a ``500``."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from rankion_core.errors import Unavailable
from rankion_core.models import Share
from rankion_core.ports import ImageQuery
from rankion_core.testing.builders import T0, add_images, at, image, two_teams
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


async def _live_total(storage: SqlStorage, team: int) -> int:
    async with storage.unit_of_work() as uow:
        return (await uow.images.list(ImageQuery(team_id=team)))[1]


async def test_a_teams_image_writers_wait_for_each_other_only_to_commit(
    sql_storage: SqlStorage,
) -> None:
    """A team's image count is changed as each unit of work commits, not held from its
    first insert: another of the team's units of work adding an image goes on meanwhile
    (it waited for the first's commit before), and the count stays exact, also after
    one that rolls back."""
    if sql_storage.dialect != "postgresql":
        pytest.skip("SQLite runs units of work one at a time")
    team, _ = await two_teams(sql_storage)
    await add_images(sql_storage, image(team))
    added, release = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        async with sql_storage.unit_of_work() as uow:
            await uow.images.add(image(team))
            added.set()
            await release.wait()
            await uow.commit()

    held = asyncio.create_task(slow())
    await added.wait()
    try:
        await asyncio.wait_for(add_images(sql_storage, image(team)), 10)
        assert await _live_total(sql_storage, team) == 2  # the held one is not counted yet
    finally:
        release.set()
        await held
    assert await _live_total(sql_storage, team) == 3

    async def rolled_back() -> None:
        async with sql_storage.unit_of_work() as uow:
            await uow.images.add(image(team))
            raise LookupError

    with pytest.raises(LookupError):
        await rolled_back()
    assert await _live_total(sql_storage, team) == 3


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


async def _waiting_for_a_lock(storage: SqlStorage) -> bool:
    async with storage.engine.connect() as connection:
        waiting = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return bool(waiting)


@pytest.mark.parametrize("change", ["share", "revoke"])
async def test_a_locked_shown_read_sees_the_share_of_the_lock_it_waited_for(
    sql_storage: SqlStorage, change: str
) -> None:
    """``get_shown(for_update=True)`` waiting for the image's lock (a share flow holds
    it: ``services.shares``) answers with the share as that flow committed it, as
    ``get(for_update=True)`` then ``active_for_image`` did: the PATCH's answer is the
    share the image has when it commits."""
    if sql_storage.dialect != "postgresql":
        pytest.skip("SQLite runs units of work one at a time: nothing waits")
    team, _ = await two_teams(sql_storage)
    (img,) = await add_images(sql_storage, image(team))
    if change == "revoke":
        async with sql_storage.unit_of_work() as uow:
            await uow.shares.add(Share(0, team, img.id, "old", T0))
            await uow.commit()
    holding = asyncio.Event()
    release = asyncio.Event()

    async def share_flow() -> None:
        async with sql_storage.unit_of_work() as uow:
            assert await uow.images.get(team, img.id, for_update=True) is not None
            holding.set()
            await release.wait()
            if change == "share":
                await uow.shares.add(Share(0, team, img.id, "new", T0))
            else:
                share = await uow.shares.active_for_image(team, img.id, at(1))
                assert share is not None
                share.revoked_at = at(1)
                await uow.shares.update(share)
            await uow.commit()

    async def patch() -> Share | None:
        await holding.wait()
        async with sql_storage.unit_of_work() as uow:
            shown = await uow.images.get_shown(team, img.id, at(2), for_update=True)
            await uow.commit()
        assert shown is not None
        return shown[1]

    flow = asyncio.create_task(share_flow())
    read = asyncio.create_task(patch())
    await holding.wait()
    for _ in range(200):  # the locked read is waiting for the flow's lock
        if await _waiting_for_a_lock(sql_storage):
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the locked read never waited")
    release.set()
    await asyncio.wait_for(flow, 10)
    shown = await asyncio.wait_for(read, 10)
    if change == "share":
        assert shown is not None and shown.token == "new"
    else:
        assert shown is None
