"""``SyncRankion``: the services from plain threads, on one private event loop.

The main test is what a threaded WSGI server does to it: many request threads calling
at once against SQLite storage (and PostgreSQL when ``RANKION_TEST_POSTGRES_URL`` is
set), with the worker pool running on the same loop; the results must be right, no
call may meet another loop's connection, and closing must leave no thread behind.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from rankion_core import Actor, Deps, HmacUrlSigner, NotFound, Rankion
from rankion_core.models import ProcessingStatus
from rankion_core.ports import ImageQuery
from rankion_core.services import GenerateRequest
from rankion_core.sync import SyncRankion
from rankion_core.workers import WorkerPool
from rankion_fsspec import open_blob_store
from rankion_memory import MemoryStorage
from rankion_procedural import PillowCodec, ProceduralProvider
from rankion_sqlalchemy import open_storage
from tests.contract.backends import NO_POSTGRES, POSTGRES_URL, postgres_options, run_sql

#: request threads calling at once, generations each, teams they share
THREADS = 16
PER_THREAD = 3
TEAMS = 4
CREDITS = 1000
#: how long the workers may take for all the images on a loaded machine
READY_WITHIN = 180.0


def sql_rankion(
    url: str, folder: Path, pool: WorkerPool, **options: Any
) -> Callable[[], Awaitable[Rankion]]:
    async def build() -> Rankion:
        storage = open_storage(url, **options)
        await storage.migrate()
        deps = Deps(
            storage=storage,
            blobs=open_blob_store(str(folder / "blobs")),
            provider=ProceduralProvider(),
            codec=PillowCodec(),
            signer=HmacUrlSigner(b"a secret of at least 16 bytes", "http://app.test"),
        )
        return Rankion(deps, hooks=pool.hooks())

    return build


def memory_rankion() -> Rankion:
    deps = Deps(
        storage=MemoryStorage(),
        blobs=open_blob_store("memory://sync-facade"),
        provider=ProceduralProvider(),
        codec=PillowCodec(),
        signer=HmacUrlSigner(b"a secret of at least 16 bytes", "http://app.test"),
    )
    return Rankion(deps)


def extra_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    """Threads started since ``before`` that are still alive, after giving the ones
    that were told to stop a moment to finish."""
    deadline = time.monotonic() + 10
    while True:
        extra = [t for t in threading.enumerate() if t not in before]
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.05)


@pytest.fixture(params=["sqlite", "postgres"])
def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[str, dict[str, Any]]]:
    """A SQLite file, or a PostgreSQL schema of its own (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}", {}
        return
    if POSTGRES_URL is None:
        pytest.skip(NO_POSTGRES)
    schema = f"sync_{uuid.uuid4().hex[:12]}"
    asyncio.run(run_sql(f"CREATE SCHEMA {schema}"))
    try:
        yield POSTGRES_URL, postgres_options(schema)
    finally:
        asyncio.run(run_sql(f"DROP SCHEMA {schema} CASCADE"))


def test_many_threads_at_once_with_workers(
    database: tuple[str, dict[str, Any]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    before = set(threading.enumerate())
    pool = WorkerPool(size=2, poll_seconds=0.2)
    url, options = database
    loops: set[int] = set()
    overlap = Counter[str]()

    async def probe() -> None:
        """Records the loop it runs on and how many probes run at once."""
        loops.add(id(asyncio.get_running_loop()))
        overlap["now"] += 1
        overlap["most"] = max(overlap["most"], overlap["now"])
        await asyncio.sleep(0.05)
        overlap["now"] -= 1

    with SyncRankion(sql_rankion(url, tmp_path, pool, **options), workers=pool) as sync:
        app = sync.rankion
        teams = [sync.call(app.accounts.create_team, f"team-{n}", CREDITS) for n in range(TEAMS)]
        start = threading.Barrier(THREADS)

        def request(n: int) -> list[int]:
            """One request thread: generates, reads back, tries another team's image."""
            me = Actor(team_id=teams[n % TEAMS].id)
            other = Actor(team_id=teams[(n + 1) % TEAMS].id)
            start.wait()
            sync.call(probe)
            ids = []
            for i in range(PER_THREAD):
                queued = sync.call(
                    app.creation.generate,
                    me,
                    GenerateRequest(prompt=f"lighthouse {n}.{i}", size="256x256"),
                )
                ids.append(queued.image_id)
                assert sync.call(app.gallery.get, me, queued.image_id).image.team_id == me.team_id
            with pytest.raises(NotFound):
                sync.call(app.gallery.get, other, ids[0])
            sync.call(probe)
            return ids

        began = time.monotonic()
        with ThreadPoolExecutor(THREADS) as threads:
            made = list(threads.map(request, range(THREADS)))
        queued_in = time.monotonic() - began

        by_team: dict[int, set[int]] = {t.id: set() for t in teams}
        for n, ids in enumerate(made):
            by_team[teams[n % TEAMS].id].update(ids)
        assert sum(len(ids) for ids in by_team.values()) == THREADS * PER_THREAD  # all distinct

        deadline = time.monotonic() + READY_WITHIN
        for team_id, ids in by_team.items():
            me = Actor(team_id=team_id)
            query = ImageQuery(team_id=team_id, per_page=100)
            while True:
                page = sync.call(app.gallery.list, me, query)
                statuses = {v.image.processing_status for v in page.items}
                if statuses == {ProcessingStatus.READY} or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert statuses == {ProcessingStatus.READY}
            assert {v.image.id for v in page.items} == ids  # its own, every one of them
            charged = sum(v.image.credits_charged for v in page.items)
            assert charged > 0
            assert sync.call(app.accounts.balance, me) == CREDITS - charged
        ready_in = time.monotonic() - began
        loop_thread = sync.thread

    assert not loop_thread.is_alive()
    assert extra_threads(before) == []
    assert len(loops) == 1  # every call ran on the one loop
    assert overlap["most"] > 1  # and calls from different threads ran side by side there
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert problems == []
    assert "different loop" not in caplog.text
    print(
        f"\n{THREADS} threads x {PER_THREAD} generations ({THREADS * PER_THREAD} images, "
        f"{TEAMS} teams): queued in {queued_in:.2f} s, all ready in {ready_in:.2f} s; "
        f"at most {overlap['most']} probes at once on the loop"
    )


def test_results_and_errors_come_back_to_the_caller() -> None:
    with SyncRankion(memory_rankion()) as sync:
        team = sync.call(sync.rankion.accounts.create_team, "acme", 10)
        me = Actor(team_id=team.id)
        assert sync.call(sync.rankion.accounts.balance, me) == 10
        with pytest.raises(NotFound):
            sync.call(sync.rankion.gallery.get, me, 424242)


def test_a_running_loop_is_never_blocked() -> None:
    async def inside_a_loop(sync: SyncRankion) -> None:
        with pytest.raises(RuntimeError, match="running event loop"):
            sync.call(sync.rankion.accounts.create_team, "acme", 1)

    with SyncRankion(memory_rankion()) as sync:
        asyncio.run(inside_a_loop(sync))

        async def from_its_own_loop() -> None:
            sync.call(asyncio.sleep, 0)

        with pytest.raises(RuntimeError, match="its own loop"):
            sync.call(from_its_own_loop)


def test_a_call_past_its_timeout_is_cancelled() -> None:
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with SyncRankion(memory_rankion(), timeout=0.2) as sync:
        with pytest.raises(TimeoutError):
            sync.call(slow)
        assert cancelled.wait(10)


def test_close_waits_for_calls_in_flight_then_refuses_new_ones() -> None:
    before = set(threading.enumerate())
    sync = SyncRankion(memory_rankion())
    started, finished = threading.Event(), threading.Event()

    async def short_work() -> str:
        started.set()
        await asyncio.sleep(0.2)
        finished.set()
        return "done"

    with ThreadPoolExecutor(1) as caller:
        answer = caller.submit(sync.call, short_work)
        assert started.wait(10)
        sync.close()
        assert finished.is_set()
        assert answer.result() == "done"
    with pytest.raises(RuntimeError, match="closed"):
        sync.call(sync.rankion.accounts.create_team, "late", 1)
    sync.close()  # again: nothing happens
    assert not sync.thread.is_alive()
    assert extra_threads(before) == []


def test_iterate_reads_on_the_loop_and_closes_what_it_leaves() -> None:
    closed = threading.Event()
    loops: set[int] = set()

    async def numbers() -> AsyncIterator[int]:
        try:
            for n in range(5):
                loops.add(id(asyncio.get_running_loop()))
                yield n
        finally:
            closed.set()

    with SyncRankion(memory_rankion()) as sync:
        assert list(sync.iterate(numbers())) == [0, 1, 2, 3, 4]
        closed.clear()
        partial = sync.iterate(numbers())
        assert next(partial) == 0
        partial.close()  # a client that went away
        assert closed.is_set()
    assert len(loops) == 1


def test_a_failing_build_leaves_no_thread() -> None:
    before = set(threading.enumerate())

    async def broken() -> Rankion:
        raise ValueError("no database")

    with pytest.raises(ValueError, match="no database"):
        SyncRankion(broken)
    assert extra_threads(before) == []


@pytest.mark.parametrize("image_id", [0, -1, 2**63, 10**30])
def test_an_id_no_storage_holds_is_not_found(tmp_path: Path, image_id: int) -> None:
    """An embedding app's route may hand any int to the core: no overflow, a 404's error."""
    pool = WorkerPool(size=0)
    with SyncRankion(sql_rankion(f"sqlite:///{tmp_path / 'app.db'}", tmp_path, pool)) as sync:
        me = Actor(team_id=sync.call(sync.rankion.accounts.create_team, "acme", 1).id)
        for method in (sync.rankion.gallery.get, sync.rankion.files.open):
            with pytest.raises(NotFound):
                sync.call(method, me, image_id)
