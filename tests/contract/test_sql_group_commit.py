"""A SQLite file's units of work share ``COMMIT``s (``rankion_sqlalchemy.inline``):
those that run in one turn of the loop end with one; each is durable once its block is
left; a unit of work that fails loses its own writes only; a ``COMMIT`` that fails
fails every unit of work it would have made durable."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from rankion_core.errors import Unavailable
from rankion_core.ports import one_statement
from rankion_core.testing.builders import add_images, at, image, make_team
from rankion_sqlalchemy import SqlStorage, open_storage, tables
from rankion_sqlalchemy.inline import GROUP_LIMIT, InlineConnection, driver_of

IMAGES = 8


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[SqlStorage]:
    """A SQLite file with a team and ``IMAGES`` images titled ``old``."""
    storage = open_storage(f"sqlite:///{tmp_path / 'x.db'}")
    await storage.migrate()
    team = await make_team(storage)
    await add_images(storage, *(image(team.id, title="old") for _ in range(IMAGES)))
    try:
        yield storage
    finally:
        await storage.close()


def _inline(storage: SqlStorage) -> InlineConnection:
    inline = storage._inline
    assert inline is not None
    return inline


@contextlib.contextmanager
def traced(storage: SqlStorage) -> Iterator[list[str]]:
    """The statements the units of work's connection runs in the block."""
    driver = driver_of(_inline(storage).take())
    sent: list[str] = []
    driver.set_trace_callback(sent.append)
    try:
        yield sent
    finally:
        with contextlib.suppress(sqlite3.ProgrammingError):  # closed: it failed
            driver.set_trace_callback(None)


def _elsewhere(storage: SqlStorage, column: str) -> list[object]:
    """``column`` of every image by id, as another connection (process) sees it."""
    path = storage.engine.url.database
    assert path is not None
    other = sqlite3.connect(path)
    try:
        return [v for (v,) in other.execute(f"SELECT {column} FROM images ORDER BY id")]
    finally:
        other.close()


async def _toggle(storage: SqlStorage, image_id: int) -> bool | None:
    async with storage.unit_of_work() as uow:
        one_statement(uow)
        flipped = await uow.images.toggle_favorite(1, image_id, at(5))
        await uow.commit()
    return flipped


async def _retitle(
    storage: SqlStorage, image_id: int, title: str, interrupt: sqlite3.Connection | None = None
) -> None:
    """``interrupt``: the driver whose statements fail from the commit on, as a disk
    error would end them (a progress handler interrupts each)."""
    async with storage.unit_of_work() as uow:
        found = await uow.images.get(1, image_id)
        assert found is not None
        found.title = title
        await uow.images.update(found, tags=False)
        if interrupt is not None:
            interrupt.set_progress_handler(lambda: 1, 1)
        await uow.commit()


async def test_units_of_work_of_one_turn_share_one_commit_and_are_durable_when_left(
    storage: SqlStorage,
) -> None:
    for warm in (1, 1):  # each statement gets its plan on its second run
        await _toggle(storage, warm)
    with traced(storage) as sent:
        flipped = await asyncio.gather(*(_toggle(storage, i) for i in range(1, IMAGES + 1)))
        seen = _elsewhere(storage, "is_favorite")  # at once: no turn of the loop between
    assert flipped == [True] * IMAGES
    assert seen == [1] * IMAGES
    assert sent.count("COMMIT") == 1
    assert sent.count("SAVEPOINT unit") == IMAGES - 1  # the first began the transaction


async def test_a_group_holds_at_most_its_limit(storage: SqlStorage) -> None:
    await _toggle(storage, 1)
    with traced(storage) as sent:
        await asyncio.gather(*(_toggle(storage, 1) for _ in range(GROUP_LIMIT + 1)))
    assert sent.count("COMMIT") == 2
    assert _elsewhere(storage, "is_favorite")[0] == (GROUP_LIMIT + 2) % 2


@pytest.mark.parametrize("through", ["plan", "SQLAlchemy", "a constraint"])
async def test_a_unit_of_work_that_fails_in_a_group_loses_its_own_writes_only(
    storage: SqlStorage, through: str
) -> None:
    for warm in ("a", "b"):
        await _retitle(storage, 1, warm)

    async def fails() -> None:
        async with storage.unit_of_work() as uow:
            if through == "plan":
                found = await uow.images.get(1, 2)
                assert found is not None
                found.title = "lost"
                await uow.images.update(found, tags=False)
            else:  # a statement built here has no plan: SQLAlchemy runs it
                change = tables.images.update().where(tables.images.c.id == 2)
                await uow.session.execute(change.values(title="lost"))
            if through == "a constraint":  # checked at once: nothing waits for the COMMIT
                change = tables.images.update().where(tables.images.c.id == 2)
                try:
                    await uow.session.execute(change.values(team_id=999))
                except IntegrityError as failure:
                    raise RuntimeError("a team that does not exist") from failure
            raise RuntimeError("the unit of work fails before its commit")

    with traced(storage) as sent:
        results = await asyncio.gather(
            _retitle(storage, 1, "first"),
            fails(),
            _retitle(storage, 3, "third"),
            return_exceptions=True,
        )
    assert [type(r) for r in results] == [type(None), RuntimeError, type(None)]
    assert _elsewhere(storage, "title")[:3] == ["first", "old", "third"]
    assert sent.count("SAVEPOINT unit") >= 1  # the failing one joined the first's


async def test_a_failed_commit_fails_every_unit_of_work_of_its_group(
    storage: SqlStorage,
) -> None:
    inline = _inline(storage)
    for warm in ("a", "b"):
        await _retitle(storage, 1, warm)
    interrupted = driver_of(inline.take())

    try:
        results = await asyncio.gather(
            _retitle(storage, 1, "first"),
            _retitle(storage, 2, "second"),
            _retitle(storage, 3, "third", interrupted),
            return_exceptions=True,
        )
    finally:
        with contextlib.suppress(sqlite3.ProgrammingError):  # closed: it failed
            interrupted.set_progress_handler(None, 1)
    assert [type(r) for r in results] == [Unavailable] * 3
    assert _elsewhere(storage, "title")[:3] == ["b", "old", "old"]
    assert not driver_of(inline.take()).in_transaction
    await _retitle(storage, 2, "again")  # the storage goes on
    assert _elsewhere(storage, "title")[1] == "again"


async def test_a_group_commits_only_once_a_unit_of_work_in_its_middle_ends(
    storage: SqlStorage,
) -> None:
    await _toggle(storage, 1)
    await _toggle(storage, 1)
    halfway = asyncio.Event()
    go_on = asyncio.Event()

    async def slow() -> None:
        async with storage.unit_of_work() as uow:
            await uow.images.toggle_favorite(1, 2, at(5))
            halfway.set()
            await go_on.wait()  # other work in the middle of the unit of work
            await uow.images.toggle_favorite(1, 3, at(5))
            await uow.commit()

    # the quick one runs its statement first, then the slow one in the same turn
    quick = asyncio.ensure_future(_toggle(storage, 1))
    waiting = asyncio.ensure_future(slow())
    await halfway.wait()
    for _ in range(5):
        await asyncio.sleep(0)
    assert not quick.done()  # its COMMIT would commit half of the slow one
    assert _elsewhere(storage, "is_favorite")[:3] == [0, 0, 0]
    go_on.set()
    assert await quick is True
    await waiting
    assert _elsewhere(storage, "is_favorite")[:3] == [1, 1, 1]


async def test_a_group_commits_before_a_unit_of_work_reads_off_the_loop(
    storage: SqlStorage,
) -> None:
    """A statement run on a worker thread (``rows_off_loop``) keeps its unit of work
    open for as long as it runs: a group commits first if that unit of work has
    changed nothing, instead of waiting for the thread."""
    await _toggle(storage, 1)
    await _toggle(storage, 1)

    async def reads() -> list[int]:
        async with storage.unit_of_work() as uow:
            rows = await uow.session.rows_off_loop(select(tables.images.c.id).limit(3))
        return [row.id for row in rows]

    with traced(storage) as sent:
        flipped, ids = await asyncio.gather(_toggle(storage, 1), reads())
    assert (flipped, ids) == (True, [1, 2, 3])
    off_loop = next(i for i, sql in enumerate(sent) if sql.startswith("SELECT images.id"))
    assert sent.index("COMMIT") < off_loop
    assert _elsewhere(storage, "is_favorite")[0] == 1


@pytest.mark.parametrize("leaves", ["as it is", "rolling back"])
async def test_a_unit_of_work_that_read_a_groups_writes_waits_for_its_commit(
    storage: SqlStorage, leaves: str
) -> None:
    """What a unit of work read in the group's transaction is answered only once the
    group's writes are durable: when their COMMIT fails, so does the reader."""
    inline = _inline(storage)
    for warm in ("a", "b"):
        await _retitle(storage, 1, warm)
    interrupted = driver_of(inline.take())

    async def reads() -> str | None:
        async with storage.unit_of_work() as uow:
            found = await uow.images.get(1, 1)
            if leaves == "rolling back":
                await uow.rollback()
        return found.title if found else None

    try:
        results = await asyncio.gather(
            _retitle(storage, 1, "new"),
            reads(),
            _retitle(storage, 3, "third", interrupted),
            return_exceptions=True,
        )
    finally:
        with contextlib.suppress(sqlite3.ProgrammingError):  # closed: it failed
            interrupted.set_progress_handler(None, 1)
    assert [type(r) for r in results] == [Unavailable] * 3  # the reader saw "new"
    assert _elsewhere(storage, "title")[0] == "b"


async def test_a_transaction_sqlite_rolled_back_is_never_reported_committed(
    storage: SqlStorage,
) -> None:
    """An error after which SQLite rolls the whole transaction back (an interrupt, an
    I/O error) in a unit of work that SQLAlchemy ran a statement in: the group's
    writes are lost, and the group is told so."""
    inline = _inline(storage)
    for warm in ("a", "b"):
        await _retitle(storage, 1, warm)
    interrupted = driver_of(inline.take())

    async def fails() -> None:
        change = tables.images.update().where(tables.images.c.id == 2)
        async with storage.unit_of_work() as uow:
            await uow.session.execute(change.values(title="x"))  # no plan: SQLAlchemy's
            interrupted.set_progress_handler(lambda: 1, 1)
            try:
                await uow.session.execute(change.values(title="y"))
            finally:
                with contextlib.suppress(sqlite3.ProgrammingError):
                    interrupted.set_progress_handler(None, 1)

    results = await asyncio.gather(_retitle(storage, 1, "first"), fails(), return_exceptions=True)
    assert type(results[0]) is Unavailable
    assert isinstance(results[1], Exception)
    assert _elsewhere(storage, "title")[:2] == ["b", "old"]
    await _retitle(storage, 1, "again")  # the storage goes on
    assert _elsewhere(storage, "title")[0] == "again"


async def _waiting_briefly(tmp_path: Path, *, busy_timeout_ms: int, images: int) -> SqlStorage:
    """A SQLite file whose busy timeout is ``busy_timeout_ms``, with a team and
    ``images`` images, the favourite toggle planned (and every image not a favourite)."""
    storage = open_storage(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_ms=busy_timeout_ms)
    await storage.migrate()
    team = await make_team(storage)
    await add_images(storage, *(image(team.id) for _ in range(images)))
    for _ in range(2):
        await _toggle(storage, 1)
    return storage


async def _in_two_halves(storage: SqlStorage, halfway: asyncio.Event, go_on: asyncio.Event) -> None:
    """Image 2 toggled, ``halfway`` set, then (once ``go_on`` is) image 3, and commit:
    a unit of work that awaits something in the middle of its part."""
    async with storage.unit_of_work() as uow:
        await uow.images.toggle_favorite(1, 2, at(5))
        halfway.set()
        await go_on.wait()
        await uow.images.toggle_favorite(1, 3, at(5))
        await uow.commit()


async def test_closing_the_storage_commits_no_half_of_a_unit_of_work(tmp_path: Path) -> None:
    """``close`` waits for a unit of work in the middle of its part (up to the busy
    timeout); the group, which waited as long for that part, commits without it, and
    no half of the unit of work is ever committed."""
    storage = await _waiting_briefly(tmp_path, busy_timeout_ms=100, images=3)
    halfway, go_on = asyncio.Event(), asyncio.Event()
    quick = asyncio.ensure_future(_toggle(storage, 1))
    slow = asyncio.ensure_future(_in_two_halves(storage, halfway, go_on))
    await halfway.wait()
    closing = asyncio.ensure_future(storage.close())
    await asyncio.sleep(0)
    late = asyncio.ensure_future(_toggle(storage, 3))  # queued behind the close
    await closing
    go_on.set()
    done = await asyncio.gather(quick, slow, late, return_exceptions=True)
    assert [type(d) for d in done] == [bool, Unavailable, Unavailable]
    assert _elsewhere(storage, "is_favorite") == [1, 0, 0]


async def test_a_group_waits_for_a_unit_of_work_in_its_middle_at_most_the_busy_timeout(
    tmp_path: Path,
) -> None:
    """A unit of work that awaits something in the middle of its part (an article
    directory that does not answer) holds the group's ``COMMIT`` for at most the busy
    timeout, as it holds a write that comes after it: then its part is rolled back,
    the group commits without it, and it fails when it goes on."""
    storage = await _waiting_briefly(tmp_path, busy_timeout_ms=200, images=4)
    halfway, go_on = asyncio.Event(), asyncio.Event()
    try:
        quick = asyncio.ensure_future(_toggle(storage, 1))
        waiting = asyncio.ensure_future(_in_two_halves(storage, halfway, go_on))
        await halfway.wait()
        with pytest.raises(Unavailable):  # after it: the busy timeout
            await _toggle(storage, 4)
        done, _ = await asyncio.wait({quick}, timeout=2.0)  # before it: no longer
        assert quick in done and quick.result() is True
        assert _elsewhere(storage, "is_favorite") == [1, 0, 0, 0]
        go_on.set()
        with pytest.raises(Unavailable, match="waited too long"):
            await waiting
        assert _elsewhere(storage, "is_favorite") == [1, 0, 0, 0]
        assert await _toggle(storage, 4) is True  # the storage goes on
    finally:
        go_on.set()
        await storage.close()


async def test_a_group_commits_while_a_unit_of_work_that_committed_is_still_in_its_block(
    storage: SqlStorage,
) -> None:
    """Between its ``commit`` and the end of its block a unit of work has no part
    open: the group's ``COMMIT`` does not wait for it."""
    for _ in range(2):
        await _toggle(storage, 1)
    committed, go_on = asyncio.Event(), asyncio.Event()

    async def lingers() -> bool | None:
        async with storage.unit_of_work() as uow:
            flipped = await uow.images.toggle_favorite(1, 2, at(5))
            await uow.commit()
            committed.set()
            await go_on.wait()  # anything awaited before the block is left
        return flipped

    quick = asyncio.ensure_future(_toggle(storage, 1))
    waiting = asyncio.ensure_future(lingers())
    await committed.wait()
    assert await quick is True
    assert _elsewhere(storage, "is_favorite")[:2] == [1, 1]
    go_on.set()
    assert await waiting is True


async def test_a_unit_of_work_whose_group_failed_leaves_its_block_with_the_failure(
    storage: SqlStorage,
) -> None:
    """A unit of work that joined a group, committed, and is still in its block when
    the group's ``COMMIT`` fails is not told its write stands when it leaves."""
    inline = _inline(storage)
    for _ in range(2):
        await _toggle(storage, 1)
    interrupted = driver_of(inline.take())
    committed, go_on = asyncio.Event(), asyncio.Event()

    async def joined() -> bool | None:
        async with storage.unit_of_work() as uow:
            flipped = await uow.images.toggle_favorite(1, 2, at(5))  # a savepoint
            await uow.commit()
            interrupted.set_progress_handler(lambda: 1, 1)  # the COMMIT to come fails
            committed.set()
            await go_on.wait()
        return flipped

    try:
        results = await asyncio.gather(
            _toggle(storage, 1), joined(), _release(go_on, committed), return_exceptions=True
        )
    finally:
        with contextlib.suppress(sqlite3.ProgrammingError):  # closed: it failed
            interrupted.set_progress_handler(None, 1)
    assert [type(r) for r in results[:2]] == [Unavailable] * 2
    assert _elsewhere(storage, "is_favorite")[:2] == [0, 0]
    assert await _toggle(storage, 2) is True  # the storage goes on


async def _release(go_on: asyncio.Event, after: asyncio.Event) -> None:
    """Set ``go_on`` a few turns of the loop after ``after``."""
    await after.wait()
    for _ in range(5):
        await asyncio.sleep(0)
    go_on.set()


async def test_closing_the_storage_while_a_statement_runs_off_the_loop(tmp_path: Path) -> None:
    """``close`` interrupts a statement running on a worker thread and waits for it
    before it closes the connection under it."""
    storage = open_storage(f"sqlite:///{tmp_path / 'x.db'}", busy_timeout_ms=100)
    await storage.migrate()
    endless = text(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000)"
        " SELECT count(*) AS n FROM c"
    )

    async def reads() -> object:
        async with storage.unit_of_work() as uow:
            return await uow.session.rows_off_loop(endless)

    reading = asyncio.ensure_future(reads())
    for _ in range(20):
        await asyncio.sleep(0.005)
    await storage.close()  # waits 100 ms for the reader, then interrupts it
    (failed,) = await asyncio.gather(reading, return_exceptions=True)
    assert isinstance(failed, Unavailable), failed
