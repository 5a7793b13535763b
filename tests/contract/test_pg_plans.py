"""Statements run by their plan on asyncpg itself (``rankion_sqlalchemy.pg_plans``)
give what SQLAlchemy's execution gives: the same entities, row counts and wrapped
errors, inside the unit of work's one transaction; listeners still see every statement;
a lost connection is a ``503`` once, and the next unit of work connects anew."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import attrs
import pytest
from asyncpg.transaction import Transaction
from sqlalchemy import bindparam, event, select, text
from sqlalchemy.dialects.postgresql import asyncpg as adapted
from sqlalchemy.exc import IntegrityError, StatementError

from rankion_core.errors import Invalid, Unavailable
from rankion_core.models import Image, Share
from rankion_core.ports import ImageQuery, one_statement
from rankion_core.testing.builders import T0, add_images, at, image, two_teams
from rankion_sqlalchemy import SqlStorage, open_storage, pg_plans, tables

from .backends import POSTGRES_URL, empty_postgres, postgres_options


@pytest.fixture
def pg(sql_storage: SqlStorage) -> SqlStorage:
    if sql_storage.dialect != "postgresql":
        pytest.skip("plans on asyncpg are PostgreSQL's")
    return sql_storage


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The SQL of every statement a plan ran on asyncpg."""
    ran: list[str] = []
    run = pg_plans.run

    async def counting(plan: Any, *args: Any) -> Any:
        result = await run(plan, *args)
        if result is not None:
            ran.append(plan.sql)
        return result

    monkeypatch.setattr(pg_plans, "run", counting)
    return ran


async def _retitle(storage: SqlStorage, team: int, image_id: int, title: str) -> Image:
    """A locked read, an update and a read again: each by SQLAlchemy the first time,
    by its plan after (the first statement too: the transaction is begun for it)."""
    async with storage.unit_of_work() as uow:
        found = await uow.images.get(team, image_id, for_update=True)
        assert found is not None
        found.title, found.updated_at = title, at(9)
        await uow.images.update(found, tags=False)
        again = await uow.images.get(team, image_id)
        await uow.commit()
    assert again is not None
    return again


async def test_planned_statements_give_what_sqlalchemy_gives(
    pg: SqlStorage, planned: list[str]
) -> None:
    team, _ = await two_teams(pg)
    (img,) = await add_images(pg, image(team, tags=["Sea", "dusk"], title="a lighthouse"))
    planned.clear()
    by_sqlalchemy = await _retitle(pg, team, img.id, "one")  # the statements seen once
    assert not planned
    by_plan = await _retitle(pg, team, img.id, "two")
    assert any(sql.startswith("UPDATE images") for sql in planned), planned
    assert any(sql.startswith("SELECT images.id") for sql in planned), planned
    assert by_plan == attrs.evolve(by_sqlalchemy, title="two")


#: an expanding list between two parameters, one of them used twice
_AROUND_A_LIST = (
    select(tables.shares.c.token)
    .where(
        tables.shares.c.team_id == bindparam("team"),
        tables.shares.c.image_id.in_(bindparam("ids", expanding=True)),
        tables.shares.c.token != bindparam("not_this"),
        tables.shares.c.team_id == bindparam("team"),
    )
    .order_by(tables.shares.c.token)
)


async def test_an_expanding_list_is_spelled_out_and_numbered_anew(
    pg: SqlStorage, planned: list[str]
) -> None:
    team, other = await two_teams(pg)
    one, two, three = await add_images(pg, image(team), image(team), image(team))
    (elsewhere,) = await add_images(pg, image(other))
    async with pg.unit_of_work() as uow:
        for img, token in ((one, "a"), (two, "b"), (three, "c"), (elsewhere, "d")):
            share = Share(0, img.team_id, img.id, token, T0, T0 + timedelta(1))
            await uow.shares.add(share)
        await uow.commit()
    found = []
    for ids in ([one.id, two.id, elsewhere.id], [one.id, three.id], [two.id, three.id, one.id]):
        async with pg.unit_of_work() as uow:
            assert await uow.images.get(team, one.id) is not None  # begins it
            params = {"team": team, "ids": ids, "not_this": "b"}
            found.append(list((await uow.session.execute(_AROUND_A_LIST, params)).scalars()))
            live = await uow.shares.active_for_images(team, ids, T0)
            found.append(sorted(s.token for s in live.values()))
    assert found == [["a"], ["a", "b"], ["a", "c"], ["a", "c"], ["a", "c"], ["a", "b", "c"]]
    lists = [sql for sql in planned if "POSTCOMPILE_" in sql]  # planned with their lists
    assert sum("POSTCOMPILE_ids" in sql for sql in lists) == 2, planned
    assert any("POSTCOMPILE_image_ids" in sql for sql in lists), planned


async def test_a_one_statement_unit_of_work_runs_its_plan_in_autocommit(
    pg: SqlStorage, planned: list[str]
) -> None:
    team, _ = await two_teams(pg)
    (img,) = await add_images(pg, image(team))
    planned.clear()
    flags = []
    for hour in (1, 2, 3):
        async with pg.unit_of_work() as uow:
            one_statement(uow)
            flipped = await uow.images.toggle_favorite(team, img.id, at(hour))
            assert flipped is not None
            flags.append(flipped)
            # no commit: the statement was its own transaction
    assert flags == [True, False, True]
    assert len(planned) == 2  # the first run made the plan
    async with pg.unit_of_work() as uow:
        stored = await uow.images.get(team, img.id)
    assert stored is not None and stored.is_favorite and stored.updated_at == at(3)


async def test_planned_statements_are_in_the_unit_of_works_transaction(
    pg: SqlStorage, planned: list[str]
) -> None:
    team, _ = await two_teams(pg)
    (img,) = await add_images(pg, image(team, title="kept"))
    for title in ("a", "kept"):
        await _retitle(pg, team, img.id, title)
    planned.clear()
    async with pg.unit_of_work() as uow:
        found = await uow.images.get(team, img.id, for_update=True)
        assert found is not None
        found.title = "rolled back"
        await uow.images.update(found, tags=False)
        assert planned  # ran on asyncpg ... and is undone with the rest
        await uow.rollback()
    async with pg.unit_of_work() as uow:
        stored = await uow.images.get(team, img.id)
    assert stored is not None and stored.title == "kept"


async def _retitled_once(storage: SqlStorage) -> tuple[int, Image]:
    """A team and its image, retitled once (so the retitle's statements have plans)."""
    team, _ = await two_teams(storage)
    (img,) = await add_images(storage, image(team, title="kept"))
    await _retitle(storage, team, img.id, "a")
    return team, img


async def test_the_first_statement_of_a_transaction_runs_by_its_plan_too(
    pg: SqlStorage, planned: list[str]
) -> None:
    team, img = await _retitled_once(pg)
    begins: list[str] = []

    @event.listens_for(pg.engine.sync_engine, "begin")
    def begun(_connection: Any) -> None:
        begins.append("begin")

    planned.clear()
    try:
        await _retitle(pg, team, img.id, "b")
        assert len(planned) == 3 and planned[0].startswith("SELECT images.id"), planned
        assert begins == ["begin"]  # SQLAlchemy's transaction, begun once
        # undone with the rest: the adapter's transaction is SQLAlchemy's
        async with pg.unit_of_work() as uow:
            found = await uow.images.get(team, img.id, for_update=True)
            assert found is not None
            found.title = "rolled back"
            await uow.images.update(found, tags=False)
        assert (await _retitle(pg, team, img.id, "c")).title == "c"
        async with pg.unit_of_work() as uow:
            assert await uow.images.get(team, img.id, for_update=True) is not None
            await uow.rollback()
            found = await uow.images.get(team, img.id)  # begins again after the rollback
            await uow.commit()
        assert found is not None and found.title == "c"
        assert len(planned) == 3 + 2 + 3 + 2, planned
    finally:
        event.remove(pg.engine.sync_engine, "begin", begun)


async def test_a_failed_begin_leaves_the_statement_to_sqlalchemy(
    pg: SqlStorage, planned: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    team, img = await _retitled_once(pg)

    async def refused(self: Any) -> None:
        raise RuntimeError("no BEGIN here")

    monkeypatch.setattr(adapted.AsyncAdapt_asyncpg_connection, "_start_transaction", refused)
    planned.clear()
    with pytest.raises(Exception, match="no BEGIN here"):
        await _retitle(pg, team, img.id, "b")  # SQLAlchemy's BEGIN, refused the same
    assert not planned
    monkeypatch.undo()
    assert (await _retitle(pg, team, img.id, "c")).title == "c"


async def test_errors_are_wrapped_as_sqlalchemy_wraps_them(
    pg: SqlStorage, planned: list[str]
) -> None:
    team, _ = await two_teams(pg)
    (img,) = await add_images(pg, image(team))

    async def share(token: str, title: str = "t") -> None:
        async with pg.unit_of_work() as uow:
            assert await uow.images.get(team, img.id) is not None  # begins it
            await uow.shares.add(Share(0, team, img.id, token, T0, T0 + timedelta(1)))
            await uow.commit()

    for token in ("one", "two", "three"):
        await share(token)
    assert any(sql.startswith("INSERT INTO shares") for sql in planned), planned
    with pytest.raises(IntegrityError) as raised:
        await share("three")  # the token is unique
    assert getattr(raised.value.orig, "sqlstate", None) == "23505"
    with pytest.raises(Invalid):  # text PostgreSQL cannot store: a 4xx, as ever
        await share("nul\x00")


async def test_several_parameter_sets_run_as_one_executemany(
    pg: SqlStorage, planned: list[str]
) -> None:
    team, _ = await two_teams(pg)
    (img,) = await add_images(pg, image(team))
    for tags in (["a", "b"], ["c", "d", "e"], ["f", "g"]):
        async with pg.unit_of_work() as uow:
            found = await uow.images.get(team, img.id, for_update=True)  # begins it
            assert found is not None
            found.tags = tags
            await uow.images.update(found)  # its tag rows: one row per tag
            await uow.commit()
    inserts = [sql for sql in planned if sql.startswith("INSERT INTO image_tags")]
    assert len(inserts) == 2, planned  # the first run made the plan
    async with pg.unit_of_work() as uow:
        rows = await uow.session.execute(
            select(tables.image_tags.c.tag_lower).where(tables.image_tags.c.image_id == img.id)
        )
        assert sorted(rows.scalars()) == ["f", "g"]
        (hit,) = (await uow.images.list(ImageQuery(team_id=team, tags=("g",))))[0]
        assert hit.id == img.id
    bad = [{"image_id": img.id, "tag_lower": "x", "team_id": team, "created_at": None}] * 2
    statement = tables.image_tags.insert()
    for _ in range(2):  # planned on the second run: the error is SQLAlchemy's either way
        async with pg.unit_of_work() as uow:
            assert await uow.images.get(team, img.id) is not None
            with pytest.raises(IntegrityError):
                await uow.session.execute(statement, bad)


async def test_listeners_see_every_statement(pg: SqlStorage, planned: list[str]) -> None:
    team, _ = await two_teams(pg)
    (img,) = await add_images(pg, image(team))
    for title in ("a", "b"):
        await _retitle(pg, team, img.id, title)
    sent: list[str] = []

    def capture(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    planned.clear()
    event.listen(pg.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await _retitle(pg, team, img.id, "c")
    finally:
        event.remove(pg.engine.sync_engine, "before_cursor_execute", capture)
    assert not planned
    assert any(s.startswith("UPDATE images") for s in sent), sent


async def _end_other_sessions(storage: SqlStorage) -> None:
    """What a restart of the server does to the pool's connections."""
    async with storage.engine.connect() as admin:
        await admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
        await admin.commit()


async def test_a_connection_lost_under_a_plan_is_unavailable_then_replaced(
    pg: SqlStorage, planned: list[str]
) -> None:
    team, _ = await two_teams(pg)
    (img,) = await add_images(pg, image(team))
    for title in ("a", "b"):
        await _retitle(pg, team, img.id, title)
    planned.clear()

    async def lose_it() -> None:
        async with pg.unit_of_work() as uow:
            found = await uow.images.get(team, img.id, for_update=True)
            assert found is not None
            await _end_other_sessions(pg)
            found.title = "lost"
            await uow.images.update(found, tags=False)  # planned: on the dead connection

    with pytest.raises(Unavailable):
        await lose_it()
    assert [sql.split()[0] for sql in planned] == ["SELECT"]  # the locked read alone ran
    for title in ("c", "d"):  # the pool was replaced: no other unit of work fails
        assert (await _retitle(pg, team, img.id, title)).title == title


async def _toggle(storage: SqlStorage, team: int, image_id: int, when: datetime) -> bool | None:
    """The favourite flipped in a one-statement unit of work, as the gallery does."""
    async with storage.unit_of_work() as uow:
        one_statement(uow)
        flipped = await uow.images.toggle_favorite(team, image_id, when)
        await uow.commit()
    return flipped


async def test_a_connection_lost_under_a_one_statement_plan_is_unavailable_then_replaced(
    pg: SqlStorage, planned: list[str]
) -> None:
    team, _ = await two_teams(pg)
    (img,) = await add_images(pg, image(team))

    async def toggle(hour: int) -> bool | None:
        return await _toggle(pg, team, img.id, at(hour))

    assert [await toggle(1), await toggle(2)] == [True, False]  # the second by its plan
    assert planned
    await _end_other_sessions(pg)
    flags: list[bool | None] = []
    for hour in (3, 4, 5):
        try:
            flags.append(await toggle(hour))
        except Unavailable:  # at most the statement on a dead connection: a 503
            flags.append(None)
    # replaced on its way out of the pool, or found dead by the statement: then anew
    assert flags in ([True, False, True], [None, True, False]), flags
    async with pg.unit_of_work() as uow:
        stored = await uow.images.get(team, img.id)
    assert stored is not None and stored.updated_at == at(5)


async def test_a_one_statement_value_its_plan_refuses_is_sqlalchemys_error(
    pg: SqlStorage, planned: list[str]
) -> None:
    team, _ = await two_teams(pg)
    (img,) = await add_images(pg, image(team))

    assert [await _toggle(pg, team, img.id, at(h)) for h in (1, 2)] == [True, False]
    assert planned  # the second run had its plan
    with pytest.raises(StatementError, match="naive datetime"):
        # SQLAlchemy runs it, and says what it refuses
        await _toggle(pg, team, img.id, datetime(2026, 1, 1))
    assert await _toggle(pg, team, img.id, at(3)) is True  # nothing written or left open


@pytest.fixture
async def one_connection(postgres_schema: str) -> AsyncIterator[SqlStorage]:
    """A storage whose pool holds one connection: each unit of work gets the same."""
    assert POSTGRES_URL is not None
    storage = open_storage(POSTGRES_URL, pool_size=1, **postgres_options(postgres_schema))
    await empty_postgres(storage)
    try:
        yield storage
    finally:
        await storage.close()


async def _title_elsewhere(schema: str, image_id: int) -> str | None:
    """The image's title as a connection of its own sees it (what is committed)."""
    assert POSTGRES_URL is not None
    other = await asyncpg.connect(POSTGRES_URL, server_settings={"search_path": schema})
    try:
        found = await other.fetchval("SELECT title FROM images WHERE id = $1", image_id)
    finally:
        await other.close()
    return None if found is None else str(found)


@pytest.mark.parametrize("cancelled", ["BEGIN", "the first statement"])
async def test_a_unit_of_work_cancelled_as_it_begins_leaves_no_transaction_behind(
    one_connection: SqlStorage,
    postgres_schema: str,
    cancelled: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Cancelled while the adapter's ``BEGIN`` is on its way (a request's timeout, a
    worker's heartbeat ended), the unit of work's connection is not given back still
    in the server's transaction: the next unit of work on it commits what it says."""
    storage = one_connection
    team, img = await _retitled_once(storage)
    target: Any = Transaction if cancelled == "BEGIN" else asyncpg.Connection
    name = "start" if cancelled == "BEGIN" else "fetch"
    real = getattr(target, name)
    once = [True]

    async def cancelled_first(self: Any, *args: Any, **kwargs: Any) -> Any:
        if once:
            once.clear()
            current = asyncio.current_task()
            assert current is not None
            current.cancel()
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(target, name, cancelled_first)
    with pytest.raises(asyncio.CancelledError):
        await asyncio.ensure_future(_retitle(storage, team, img.id, "cancelled"))
    monkeypatch.undo()
    assert (await _retitle(storage, team, img.id, "after")).title == "after"
    assert await _title_elsewhere(postgres_schema, img.id) == "after"


async def test_a_pooled_connection_found_in_a_transaction_is_dropped(
    one_connection: SqlStorage, postgres_schema: str
) -> None:
    """A connection given back to the pool in a transaction SQLAlchemy did not know of
    (so its rollback ended nothing) would let the next unit of work's writes go
    uncommitted: it is dropped instead, with a ``503`` once."""
    storage = one_connection
    team, img = await _retitled_once(storage)
    async with storage.engine.connect() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None
        await raw.execute("BEGIN")  # behind SQLAlchemy's back
    with pytest.raises(Unavailable, match="left in a transaction"):
        await _retitle(storage, team, img.id, "lost")
    assert (await _retitle(storage, team, img.id, "after")).title == "after"
    assert await _title_elsewhere(postgres_schema, img.id) == "after"
