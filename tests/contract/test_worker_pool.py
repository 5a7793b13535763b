"""The worker pool on plain asyncio, on every storage backend: a lifespan's
``async with pool.running(rankion)`` runs queued jobs without ``run_pending`` and
stops the loops on the way out, however the block ends; a stopped pool starts again.
Importing it pulls in no web framework and nothing of the server."""

from __future__ import annotations

import asyncio
import functools
import subprocess
import sys

import pytest

from rankion_core.models import EventStatus, Job, JobKind, ProcessingStatus
from rankion_core.ports import Storage
from rankion_core.services import EventDraft
from rankion_core.services.creation import GenerateRequest
from rankion_core.testing.builders import add_jobs, job
from rankion_core.workers import WorkerPool
from tests.core.support import make_world, new_team

from .test_jobs_resilience import eventually


async def _generated_and_ready(storage: Storage) -> None:
    world = make_world(storage)
    actor = await new_team(world)
    pool = WorkerPool(size=1, poll_seconds=0.05, export_loops=0, delivery_loops=0)
    app = world.app.derive(pool.hooks())

    async def ready(image_id: int) -> bool:
        return (await app.gallery.get(actor, image_id)).image.processing_status is (
            ProcessingStatus.READY
        )

    for _ in range(2):  # a stopped pool starts again
        async with pool.running(app, maintenance=False):
            queued = await app.creation.generate(actor, GenerateRequest(prompt="a dune"))
            await eventually(functools.partial(ready, queued.image_id))
        assert pool._tasks == []


async def test_running_runs_jobs_and_stops_on_the_way_out(storage: Storage) -> None:
    await _generated_and_ready(storage)


async def test_running_stops_the_loops_when_the_block_fails(storage: Storage) -> None:
    world = make_world(storage)
    pool = WorkerPool(size=2, poll_seconds=0.05)
    before = set(asyncio.all_tasks())
    started: list[int] = []

    async def failing_lifespan() -> None:
        async with pool.running(world.app):
            started.append(len(asyncio.all_tasks() - before))
            raise LookupError("the host failed to start")

    with pytest.raises(LookupError):
        await failing_lifespan()
    # two image loops (no overlap without the pool's hooks), an export loop, four
    # delivery loops and the maintenance; none left afterwards
    assert started == [2 + 1 + 4 + 1]
    assert asyncio.all_tasks() - before == set()


async def test_starting_a_running_pool_twice_is_refused(storage: Storage) -> None:
    world = make_world(storage)
    pool = WorkerPool(size=1, poll_seconds=0.05)
    async with pool.running(world.app, maintenance=False):
        with pytest.raises(RuntimeError):
            pool.start(world.app)


async def test_a_team_holds_all_but_one_of_a_lanes_loops(storage: Storage) -> None:
    """Deliveries to receivers that never answer hold their loops for the attempt's
    whole time limit: one team's many of them leave a loop for another team's one."""
    world = make_world(storage)
    busy, quiet = await new_team(world, name="busy"), await new_team(world, name="quiet")
    pool = WorkerPool(size=1, poll_seconds=0.05, export_loops=0, delivery_loops=4)
    app = world.app.derive(pool.hooks())
    running: list[int] = []
    let_go = asyncio.Event()

    async def hangs(job: Job) -> None:
        running.append(job.team_id)
        await let_go.wait()

    app.jobs.register(JobKind.WEBHOOK, hangs)
    await add_jobs(storage, *(job(busy.team_id, kind=JobKind.WEBHOOK) for _ in range(6)))
    async with pool.running(app, maintenance=False):
        await eventually(lambda: _true(len(running) == 3))
        await asyncio.sleep(0.2)  # the fourth loop polled meanwhile, and left them
        assert running == [busy.team_id] * 3
        await add_jobs(storage, job(quiet.team_id, kind=JobKind.WEBHOOK))
        await eventually(lambda: _true(quiet.team_id in running))
        let_go.set()
        await eventually(lambda: _true(len(running) == 7))


async def _true(value: bool) -> bool:
    return value


async def test_a_change_that_queues_deliveries_wakes_the_delivery_loops(storage: Storage) -> None:
    """A calendar change's deliveries go out at once, not at the loops' next poll: the
    pool is woken after the change's commit (woken before it, a loop would find
    nothing and sleep a whole poll)."""
    world = make_world(storage)
    actor = await new_team(world)
    project = await world.app.accounts.create_project(actor, "Launch")
    await world.app.webhooks.create(
        actor, "https://hooks.example.com/x", ["calendar.event.changed"]
    )
    pool = WorkerPool(size=1, poll_seconds=60, export_loops=0, delivery_loops=2)
    app = world.app.derive(pool.hooks())
    sent: list[int] = []

    async def delivered(job: Job) -> None:
        sent.append(job.id)

    app.jobs.register(JobKind.WEBHOOK, delivered)
    async with pool.running(app, maintenance=False):
        await asyncio.sleep(0.1)  # every loop has looked, found nothing, and sleeps
        draft = EventDraft(title="kick-off", status=EventStatus.IDEA)
        await app.calendar.create(actor, project.id, draft)
        await eventually(lambda: _true(len(sent) == 1), within=5.0)


def test_the_worker_module_imports_no_web_framework_and_no_server() -> None:
    code = (
        "import sys, rankion_core.workers;"
        "bad = [m for m in sys.modules"
        " if m.split('.')[0] in ('aiohttp', 'yarl', 'rankion_server')];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", out.stdout


def test_the_old_import_path_still_works_with_a_warning() -> None:
    with pytest.deprecated_call():
        from rankion_server.workers import WorkerPool as Old
    assert Old is WorkerPool
