"""Statements run by their compiled plan on SQLite (``rankion_sqlalchemy.compiled``)
give what SQLAlchemy's own execution gives: the same rows, values of the same types,
the same row counts and the same wrapped errors; what a plan does not cover still runs
through SQLAlchemy."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.sql import Executable

from rankion_core.errors import Unavailable
from rankion_core.models import Image, ProcessingStatus, Share
from rankion_core.testing.builders import T0, add_images, image, make_team
from rankion_sqlalchemy import SqlStorage, open_storage, tables
from rankion_sqlalchemy.compiled import Affected, Plan, Plans
from rankion_sqlalchemy.inline import driver_of
from rankion_sqlalchemy.repositories.base import _insert_returning_id, _select_of, _update_of
from rankion_sqlalchemy.repositories.images import _TOGGLE_FAVORITE, _tag_insert
from rankion_sqlalchemy.repositories.sessions import _ACTIVE_OF
from rankion_sqlalchemy.rows import rows_of


@pytest.fixture
async def seeded(tmp_path: Path) -> AsyncIterator[SqlStorage]:
    """A SQLite file with a team, two images (tags, a title, one ready) and a share."""
    storage = open_storage(f"sqlite:///{tmp_path / 'x.db'}")
    await storage.migrate()
    team = await make_team(storage)
    ready = image(
        team.id,
        tags=["Sea", "dusk"],
        title="a lighthouse",
        processing_status=ProcessingStatus.READY,
    )
    await add_images(storage, ready, image(team.id))
    async with storage.unit_of_work() as uow:
        await uow.shares.add(Share(0, team.id, 1, "token-1", T0, expires_at=T0 + timedelta(1)))
        await uow.commit()
    try:
        yield storage
    finally:
        await storage.close()


@pytest.fixture
def connection(seeded: SqlStorage) -> Iterator[Connection]:
    engine = seeded.inline_engine
    assert engine is not None
    with engine.connect() as connection:
        connection.begin()
        yield connection
        connection.rollback()


def planned(plans: Plans, statement: Executable, params: Any) -> Plan:
    """The plan of a statement run twice (the first run is SQLAlchemy's)."""
    assert plans.lookup(statement, params) is None  # seen once
    plan = plans.lookup(statement, params)
    assert plan is not None
    return plan


def rows(result: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in result.all()]


IMAGE = rows_of(Image)
SELECTS: list[tuple[str, Executable, dict[str, Any] | None]] = [
    ("an image by key", _select_of(IMAGE, ("team_id", "id")), {"team_id": 1, "id": 1}),
    ("nothing found", _select_of(IMAGE, ("team_id", "id")), {"team_id": 2, "id": 1}),
    ("an expanding IN", _ACTIVE_OF, {"team_id": 1, "now": T0, "image_ids": [1, 2, 3]}),
    ("values inside", select(tables.images.c.tags).where(tables.images.c.id == 1), None),
]


@pytest.mark.parametrize(("name", "statement", "params"), SELECTS, ids=[s[0] for s in SELECTS])
def test_a_planned_select_gives_what_sqlalchemy_gives(
    connection: Connection, name: str, statement: Executable, params: dict[str, Any] | None
) -> None:
    plans = Plans(connection.dialect)
    expected = connection.execute(statement, params).all()
    got = planned(plans, statement, params).run(connection, params)
    assert got is not None
    found = got.all()
    assert [tuple(r) for r in found] == [tuple(r) for r in expected]
    assert [r._mapping for r in found] == [r._mapping for r in expected]
    for mine, theirs in zip(found, expected, strict=True):  # same types: aware times, enums
        assert [type(v) for v in mine] == [type(v) for v in theirs]


def test_entities_read_by_a_plan_equal_sqlalchemy_ones(connection: Connection) -> None:
    plans = Plans(connection.dialect)
    statement = _select_of(IMAGE, ("team_id", "id"))
    params = {"team_id": 1, "id": 1}
    expected = IMAGE.one(connection.execute(statement, params).one())
    result = planned(plans, statement, params).run(connection, params)
    assert result is not None
    got = IMAGE.one(result.one())
    assert got == expected
    assert got.tags == ["Sea", "dusk"] and got.created_at.utcoffset() == timedelta(0)


def test_planned_writes_count_and_return_rows_as_sqlalchemy_does(connection: Connection) -> None:
    plans = Plans(connection.dialect)
    update = _update_of(tables.images, ("id",))
    params = {"title": "renamed", "updated_at": T0, "where_id": 1}
    assert connection.execute(update, params).rowcount == 1
    written = planned(plans, update, params).run(connection, params)
    assert isinstance(written, Affected) and written.rowcount == 1
    missing = {**params, "where_id": 99}
    same = plans.lookup(update, missing)  # same names: same plan
    assert same is not None
    gone = same.run(connection, missing)
    assert isinstance(gone, Affected) and gone.rowcount == 0

    flip = {"where_team_id": 1, "where_id": 1, "updated_at": T0}
    before = connection.execute(_TOGGLE_FAVORITE, flip).scalar_one()
    result = planned(plans, _TOGGLE_FAVORITE, flip).run(connection, flip)
    assert result is not None
    assert result.scalar_one() is (not before)  # a bool, as SQLAlchemy's result gives it

    insert = _insert_returning_id(tables.projects)
    values = {"team_id": 1, "name": "Launch", "created_at": T0}
    first = connection.execute(insert, values).scalar_one()
    result = planned(plans, insert, values).run(connection, values)
    assert result is not None and result.scalar() == first + 1


def test_several_parameter_sets_run_as_one_executemany(connection: Connection) -> None:
    plans = Plans(connection.dialect)
    insert = _tag_insert("sqlite")
    rows = [
        {"image_id": 2, "team_id": 1, "tag_lower": tag, "created_at": T0, "live": True}
        for tag in ("north", "south", "sea")  # "sea" is image 1's, not 2's: all new
    ]
    connection.execute(insert, rows[:1])
    again = planned(plans, insert, rows).run(connection, rows)
    assert isinstance(again, Affected) and again.rowcount == 2  # one was there already
    found = connection.execute(
        select(tables.image_tags.c.tag_lower).where(tables.image_tags.c.image_id == 2)
    ).scalars()
    assert sorted(found) == ["north", "sea", "south"]


def test_a_driver_error_is_wrapped_as_sqlalchemy_wraps_it(connection: Connection) -> None:
    plans = Plans(connection.dialect)
    insert = _insert_returning_id(tables.shares)
    values = {"team_id": 1, "image_id": 2, "token": "token-1", "created_at": T0}
    with pytest.raises(IntegrityError):
        connection.execute(insert, {**values, "token": "token-1"})
    with pytest.raises(IntegrityError):
        planned(plans, insert, values).run(connection, values)


def test_what_a_plan_does_not_cover_is_left_to_sqlalchemy(connection: Connection) -> None:
    plans = Plans(connection.dialect)
    # built per call: never planned, however often such statements run
    for _ in range(3):
        assert plans.lookup(select(tables.images.c.id).where(tables.images.c.id == 1), None) is None
    # several parameter sets
    many = [{"team_id": 1, "name": "a", "created_at": T0}] * 2
    assert plans.lookup(tables.projects.insert(), many) is None
    assert plans.lookup(tables.projects.insert(), many) is None
    # a value its type refuses (a naive time): left to SQLAlchemy, which names it
    naive = {"team_id": 1, "now": T0.replace(tzinfo=None), "image_ids": [1]}
    assert planned(plans, _ACTIVE_OF, naive).run(connection, naive) is None
    # an empty expanding list: the plan does not run (SQLAlchemy renders it specially)
    params = {"team_id": 1, "now": T0, "image_ids": [1]}
    plan = plans.lookup(_ACTIVE_OF, params)
    assert plan is not None
    assert plan.run(connection, {**params, "image_ids": []}) is None


async def test_units_of_work_run_plans_and_listeners_still_see_every_statement(
    seeded: SqlStorage,
) -> None:
    """The same reads through a unit of work: planned after the first; with a
    ``before_cursor_execute`` listener, every statement reaches the driver through
    SQLAlchemy again."""
    engine = seeded.inline_engine
    assert engine is not None
    sent: list[str] = []

    def capture(_c: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    async def read() -> Image | None:
        async with seeded.unit_of_work() as uow:
            return await uow.images.get(1, 1)

    first, second = await read(), await read()
    assert first == second and first is not None
    event.listen(engine, "before_cursor_execute", capture)
    try:
        assert await read() == first
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert any(s.startswith("SELECT images.id") for s in sent), sent


async def test_a_value_its_type_refuses_is_named_as_before(seeded: SqlStorage) -> None:
    """A planned statement given a value its type refuses raises SQLAlchemy's
    ``StatementError`` naming it, as the first, unplanned run does."""
    await add_images(seeded, image(1), image(1))  # the image INSERT is planned now
    with pytest.raises(StatementError, match="naive datetime"):
        await add_images(seeded, image(1, created_at=datetime(2025, 1, 1)))


async def test_planned_and_unplanned_statements_share_one_transaction(seeded: SqlStorage) -> None:
    """The transaction a planned statement begins on the driver is the one a statement
    SQLAlchemy runs joins (no second ``BEGIN``), and one commit or rollback ends both."""
    title = select(tables.images.c.title).where(tables.images.c.id == 1)

    async def retitle(new: str, *, commit: bool) -> None:
        async with seeded.unit_of_work() as uow:
            found = await uow.images.get(1, 1)  # planned once warmed: the driver begins
            assert found is not None
            found.title = new
            await uow.images.update(found, tags=False)
            await uow.session.execute(title)  # built per call: never planned
            await uow.session.execute(tables.images.update().values(prompt=new))
            if commit:
                await uow.commit()

    for warm in ("a", "b"):
        await retitle(warm, commit=True)
    await retitle("rolled back", commit=False)
    async with seeded.unit_of_work() as uow:
        kept = await uow.images.get(1, 1)
    assert kept is not None and (kept.title, kept.prompt) == ("b", "b")
    await retitle("kept", commit=True)
    async with seeded.unit_of_work() as uow:
        kept = await uow.images.get(1, 1)
    assert kept is not None and (kept.title, kept.prompt) == ("kept", "kept")


@pytest.mark.parametrize("joined", [False, True], ids=["driver's", "joined"])
async def test_a_failed_commit_is_unavailable_whoever_began_the_transaction(
    seeded: SqlStorage, joined: bool
) -> None:
    """A COMMIT the driver fails (as a disk or I/O error would; here a progress handler
    interrupts it) is a 503, whether the transaction is the driver's alone (its
    ``COMMIT`` comes as the unit of work is left) or SQLAlchemy joined it (committed by
    ``commit``); nothing is committed and nothing is left open."""
    inline = seeded._inline
    assert inline is not None

    async def retitle(title: str, *, fail: bool) -> None:
        interrupted = None
        try:
            async with seeded.unit_of_work() as uow:
                found = await uow.images.get(1, 1)
                assert found is not None
                found.title = title
                await uow.images.update(found, tags=False)
                if joined:
                    query = select(tables.images.c.id).where(tables.images.c.id == 1)
                    await uow.session.execute(query)
                if fail:
                    interrupted = driver_of(inline.take())
                    interrupted.set_progress_handler(lambda: 1, 1)
                await uow.commit()
        finally:
            if interrupted is not None:  # unless the failed connection was closed
                with contextlib.suppress(sqlite3.ProgrammingError):
                    interrupted.set_progress_handler(None, 1)

    for title in ("a", "b"):
        await retitle(title, fail=False)
    with pytest.raises(Unavailable):
        await retitle("lost", fail=True)
    assert not driver_of(inline.take()).in_transaction
    async with seeded.unit_of_work() as uow:
        kept = await uow.images.get(1, 1)
    assert kept is not None and kept.title == "b"
