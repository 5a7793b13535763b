"""The job runner under failure, on every storage backend: heartbeats, lease takeover,
fencing of a late worker, retries with backoff, refunds exactly once, start-up
recovery, export progress, and no orphan blob after purge.

Time is a ``FakeClock`` moved by hand; only the heartbeat sleeps for real (a third
of the lease), so tests that must not see a heartbeat use a long lease.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

from attrs import define

from rankion_core import Actor, ProviderRejected
from rankion_core.errors import ProviderUnavailable, Unavailable
from rankion_core.models import ExportStatus, Job, JobStatus, ProcessingStatus
from rankion_core.ports import EditSpec, GenerateSpec, PreviewSink, ProviderImage, Storage
from rankion_core.services.creation import EditRequest, GenerateRequest
from rankion_core.workers import WorkerPool
from rankion_server.maintenance_checks import orphan_blobs, referenced_blobs, stored_blobs
from tests.core.fakes import FakeBlobStore, FakeProvider
from tests.core.support import World, make_world, new_team

LONG_LEASE = timedelta(seconds=60)  # its heartbeat (every 20 s) never fires in a test
CREDITS = 100


class GatedProvider(FakeProvider):
    """A ``FakeProvider`` whose first ``held`` calls wait until ``open()``; a held call
    may then fail with ``fail_with``."""

    def __init__(self, held: int = 1, fail_with: Exception | None = None) -> None:
        super().__init__()
        self.held = held
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        self.fail_with = fail_with

    def open(self) -> None:
        self.gate.set()

    async def _hold(self) -> None:
        if self.held > 0:
            self.held -= 1
            self.entered.set()
            await self.gate.wait()
            if self.fail_with is not None:
                raise self.fail_with

    async def generate(
        self, spec: GenerateSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        await self._hold()
        return await super().generate(spec, previews)

    async def edit(
        self, source: bytes, spec: EditSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        await self._hold()
        return await super().edit(source, spec, previews)


class BusyProvider(FakeProvider):
    """Always unavailable, with a ``Retry-After`` hint."""

    async def generate(
        self, spec: GenerateSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        self.calls += 1
        raise ProviderUnavailable("busy, come back later", retry_after=100)


class SlowStreamBlobStore(FakeBlobStore):
    """Streams in small chunks with a pause between them: an export takes a while."""

    async def stream(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        data = await self.get(key)
        for i in range(0, len(data), 8):
            await asyncio.sleep(0.005)
            yield data[i : i + 8]


@define
class TeamWorld(World):
    """A ``World`` with one team (``actor``) that has ``CREDITS``."""

    actor: Actor

    async def generate(self, prompt: str = "a lighthouse") -> tuple[int, int]:
        queued = await self.app.creation.generate(self.actor, GenerateRequest(prompt=prompt))
        return queued.job_id, queued.image_id

    async def job(self, job_id: int) -> Job:
        return await self.app.jobs.get(self.actor, job_id)

    async def image_status(self, image_id: int) -> ProcessingStatus:
        async with self.app.deps.storage.unit_of_work() as uow:
            image = await uow.images.get(self.actor.team_id, image_id)
        assert image is not None
        return image.processing_status

    async def ledger(self) -> list[tuple[int, str, int | None]]:
        page = await self.app.accounts.ledger(self.actor, 1, 100)
        return [(e.delta, e.reason, e.job_id) for e in reversed(page.items)]

    async def balance(self) -> int:
        return await self.app.accounts.balance(self.actor)


async def team_world(
    storage: Storage,
    *,
    provider: FakeProvider | None = None,
    blobs: FakeBlobStore | None = None,
    lease: timedelta = LONG_LEASE,
) -> TeamWorld:
    world = make_world(storage, provider=provider, blobs=blobs, lease=lease)
    world.app.jobs.backoff = timedelta(seconds=10)
    actor = await new_team(world, CREDITS)
    return TeamWorld(world.app, world.clock, world.blobs, world.provider, world.storage, actor)


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    async with asyncio.timeout(within):
        while True:
            if await check():
                return
            await asyncio.sleep(0.02)


# ---------------------------------------------------------------- lease and fencing


async def test_the_heartbeat_extends_the_lease_while_the_provider_works(storage: Storage) -> None:
    provider = GatedProvider()
    world = await team_world(storage, provider=provider, lease=timedelta(seconds=0.3))
    job_id, image_id = await world.generate()
    running = asyncio.create_task(world.app.jobs.run_once("w1"))
    await provider.entered.wait()
    claimed_until = (await world.job(job_id)).lease_expires_at
    assert claimed_until is not None
    world.clock.advance(timedelta(hours=1))

    async def renewed() -> bool:
        until = (await world.job(job_id)).lease_expires_at
        return until == world.clock.now() + timedelta(seconds=0.3)

    await eventually(renewed, within=2)  # a beat comes every 0.1 s of real time
    assert await world.image_status(image_id) is ProcessingStatus.PROCESSING
    provider.open()
    assert await running is True
    done = await world.job(job_id)
    assert (done.status, done.attempts, done.lease_expires_at) == (JobStatus.SUCCEEDED, 1, None)


async def test_an_expired_lease_is_taken_over_and_the_late_worker_is_fenced_out(
    storage: Storage,
) -> None:
    provider = GatedProvider()
    world = await team_world(storage, provider=provider)
    job_id, image_id = await world.generate()
    late = asyncio.create_task(world.app.jobs.run_once("slow"))
    await provider.entered.wait()
    assert await world.app.jobs.run_once("other") is False  # still leased

    world.clock.advance(LONG_LEASE + timedelta(seconds=1))
    assert await world.app.jobs.run_once("other") is True  # took it over, finished it
    taken = await world.job(job_id)
    assert (taken.status, taken.attempts) == (JobStatus.SUCCEEDED, 2)
    assert await world.image_status(image_id) is ProcessingStatus.READY
    kept = set(world.blobs.blobs)

    provider.open()  # the first worker comes back and tries to finish
    assert await late is True
    after = await world.job(job_id)
    assert (after.status, after.attempts, after.result) == (JobStatus.SUCCEEDED, 2, taken.result)
    assert set(world.blobs.blobs) == kept, "the late worker's blobs were not dropped"
    assert await orphan_blobs(world.app) == set()
    assert await world.ledger() == [(CREDITS, "grant", None), (-5, "generate", job_id)]
    assert provider.calls == 2


async def test_a_late_failure_after_a_takeover_refunds_nothing_more(storage: Storage) -> None:
    provider = GatedProvider(fail_with=ProviderRejected("too late to matter"))
    world = await team_world(storage, provider=provider)
    job_id, _ = await world.generate("[reject] forbidden")
    late = asyncio.create_task(world.app.jobs.run_once("slow"))
    await provider.entered.wait()
    world.clock.advance(LONG_LEASE + timedelta(seconds=1))
    assert await world.app.jobs.run_once("other") is True  # fails it: refund
    provider.open()
    await late  # fails too, but fenced
    job = await world.job(job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 2)
    refunds = [entry for entry in await world.ledger() if entry[1] == "refund"]
    assert refunds == [(5, "refund", job_id)]
    assert await world.balance() == CREDITS


# ---------------------------------------------------------------- retries and refunds


async def test_transient_errors_retry_with_growing_jittered_backoff_then_refund_once(
    storage: Storage,
) -> None:
    world = await team_world(storage)
    job_id, image_id = await world.generate("[flaky] storm")
    for attempt, base in ((1, 10), (2, 20)):
        start = world.clock.now()
        assert await world.app.jobs.run_once("w") is True
        job = await world.job(job_id)
        assert (job.status, job.attempts) == (JobStatus.QUEUED, attempt)
        assert job.run_after is not None
        wait = (job.run_after - start).total_seconds()
        assert base <= wait <= base * 1.5, f"attempt {attempt} waits {wait} s"
        assert await world.image_status(image_id) is ProcessingStatus.QUEUED
        assert await world.app.jobs.run_once("w") is False  # not due yet
        world.clock.set(job.run_after)
    assert await world.app.jobs.run_once("w") is True
    failed = await world.job(job_id)
    assert (failed.status, failed.attempts) == (JobStatus.FAILED, 3)
    assert failed.error
    assert await world.image_status(image_id) is ProcessingStatus.FAILED
    assert await world.ledger() == [
        (CREDITS, "grant", None),
        (-5, "generate", job_id),
        (5, "refund", job_id),
    ]
    assert await world.balance() == CREDITS
    assert world.provider.calls == 3
    world.clock.advance(timedelta(days=1))
    assert await world.app.run_pending() == 0, "a failed job came back"


async def test_jitter_varies_and_a_retry_after_hint_is_honoured(storage: Storage) -> None:
    world = await team_world(storage, provider=BusyProvider())
    waits = []
    for _ in range(4):
        job_id, _ = await world.generate()
        start = world.clock.now()
        assert await world.app.jobs.run_once("w") is True
        job = await world.job(job_id)
        assert job.run_after is not None
        waits.append((job.run_after - start).total_seconds())
    assert all(100 <= wait <= 150 for wait in waits), waits
    assert len(set(waits)) > 1, "no jitter: every retry would come back at once"


async def test_a_job_whose_workers_keep_dying_ends_failed_not_stuck(storage: Storage) -> None:
    world = await team_world(storage)
    job_id, image_id = await world.generate()
    for crash in range(3):  # claimed, then the process dies: the lease runs out
        now = world.clock.now()
        async with storage.unit_of_work() as uow:
            claimed = await uow.jobs.claim(f"doomed-{crash}", now, now + LONG_LEASE)
            await uow.commit()
        assert claimed is not None
        assert claimed.id == job_id
        world.clock.advance(LONG_LEASE + timedelta(seconds=1))
    assert await world.app.jobs.run_once("survivor") is True
    job = await world.job(job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 4)
    assert world.provider.calls == 0
    assert await world.image_status(image_id) is ProcessingStatus.FAILED
    assert await world.balance() == CREDITS


# ---------------------------------------------------------------- start-up recovery


async def test_a_starting_pool_runs_queued_jobs_and_takes_over_expired_leases(
    storage: Storage,
) -> None:
    world = await team_world(storage)
    made = [await world.generate(f"picture {n}") for n in range(5)]
    now = world.clock.now()
    async with storage.unit_of_work() as uow:  # two jobs held by a process that died
        for _ in range(2):
            await uow.jobs.claim("dead", now - LONG_LEASE, now - timedelta(seconds=1))
        await uow.commit()
    pool = WorkerPool(size=2, poll_seconds=0.05)
    pool.start(world.app.derive(pool.hooks()), maintenance=False)
    try:

        async def all_ready() -> bool:
            statuses = [await world.image_status(image_id) for _, image_id in made]
            return all(s is ProcessingStatus.READY for s in statuses)

        await eventually(all_ready)
    finally:
        await pool.stop()
    attempts = sorted([(await world.job(job_id)).attempts for job_id, _ in made])
    assert attempts == [1, 1, 1, 2, 2]
    assert await world.balance() == CREDITS - 5 * 5


# ---------------------------------------------------------------- exports


async def test_an_export_streams_and_reports_progress_as_it_goes(storage: Storage) -> None:
    blobs = SlowStreamBlobStore()
    world = await team_world(storage, blobs=blobs)
    ids = [(await world.generate(f"picture {n}"))[1] for n in range(6)]
    await world.app.run_pending()
    world.app.exports.progress_every = 0.0
    export = await world.app.exports.start(world.actor, [*ids, 999_999])
    running = asyncio.create_task(world.app.run_pending())
    seen: set[int] = set()
    while not running.done():
        view = await world.app.exports.status(world.actor, export.job_id)
        if view.export.status is ExportStatus.RUNNING:
            seen.add(view.export.done)
        await asyncio.sleep(0.01)
    await running
    assert seen & set(range(1, 7)), f"no progress between 0 and the end: {sorted(seen)}"
    final = (await world.app.exports.status(world.actor, export.job_id)).export
    assert (final.status, final.done, final.total) == (ExportStatus.READY, 7, 7)
    assert final.blob_key is not None
    archive = zipfile.ZipFile(io.BytesIO(blobs.blobs[final.blob_key]))
    manifest = json.loads(archive.read("manifest.json"))
    assert [row["id"] for row in manifest["images"]] == ids
    assert manifest["skipped_ids"] == [999_999]
    assert len(archive.namelist()) == 7


# ---------------------------------------------------------------- no orphan blob


MASK = base64.b64encode(b"MASK-transparent-here").decode()


async def test_purge_delete_forever_and_export_expiry_leave_no_orphan_blob(
    storage: Storage,
) -> None:
    world = await team_world(storage)
    app, actor = world.app, world.actor
    ids = [(await world.generate(f"picture {n}"))[1] for n in range(3)]
    await app.run_pending()
    await app.creation.edit(actor, ids[0], EditRequest(prompt="bluer", mask=MASK))
    export = await app.exports.start(actor, ids)
    await app.run_pending()
    assert await orphan_blobs(app) == set()
    per_image = 2 + 2 * 3  # original, thumbnail, webp and avif at 256, 512 and 1024
    assert len(await stored_blobs(app)) == 4 * per_image + 1  # 4 images, 1 ZIP

    await app.gallery.delete(actor, ids[1])
    await app.gallery.delete_forever(actor, ids[1])
    await app.gallery.delete(actor, ids[0])  # the edited root: its variant stays
    world.clock.advance(timedelta(days=31))
    assert await app.gallery.purge() == 1
    assert await app.exports.expire() == 1
    assert (await app.exports.status(actor, export.job_id)).download_url is None
    assert await orphan_blobs(app) == set()
    assert await stored_blobs(app) == await referenced_blobs(storage)
    assert len(await stored_blobs(app)) == 2 * per_image  # ids[2] and the variant


async def test_a_pending_mask_is_referenced_until_its_edit_ends(storage: Storage) -> None:
    world = await team_world(storage)
    _, image_id = await world.generate()
    await world.app.run_pending()
    await world.app.creation.edit(world.actor, image_id, EditRequest(prompt="red", mask=MASK))
    masks = {key for key in await stored_blobs(world.app) if key.startswith("masks/")}
    assert len(masks) == 1
    assert masks <= await referenced_blobs(world.app.deps.storage)
    assert await orphan_blobs(world.app) == set()
    await world.app.run_pending()
    assert not any(key.startswith("masks/") for key in await stored_blobs(world.app))
    assert await orphan_blobs(world.app) == set()


async def test_a_failed_edit_leaves_no_mask_behind(storage: Storage) -> None:
    world = await team_world(storage)
    _, image_id = await world.generate()
    await world.app.run_pending()
    edit = EditRequest(prompt="[reject] not allowed", mask=MASK)
    await world.app.creation.edit(world.actor, image_id, edit)
    await world.app.run_pending()
    assert await orphan_blobs(world.app) == set()


# ---------------------------------------------------------------- core bugs found and fixed


class FailingBeats:
    """``storage`` whose heartbeats raise ``Unavailable`` ``failures`` times, after the
    first ``skip`` (the lease check when the job starts) went through."""

    def __init__(self, storage: Storage, failures: int, skip: int = 1) -> None:
        self.storage = storage
        self.failures = failures
        self.skip = skip

    def unit_of_work(self) -> Any:
        return _BeatFailingUnit(self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)


class _BeatFailingUnit:
    def __init__(self, owner: FailingBeats) -> None:
        self.owner = owner
        self.inner = owner.storage.unit_of_work()

    async def __aenter__(self) -> Any:
        uow = await self.inner.__aenter__()
        beat = uow.jobs.heartbeat

        async def heartbeat(*args: Any) -> bool:
            if self.owner.skip > 0:
                self.owner.skip -= 1
            elif self.owner.failures > 0:
                self.owner.failures -= 1
                raise Unavailable("storage is unavailable")
            return bool(await beat(*args))

        uow.jobs.heartbeat = heartbeat
        return uow

    async def __aexit__(self, *exc: Any) -> None:
        await self.inner.__aexit__(*exc)


async def test_one_failed_heartbeat_does_not_stop_the_next_ones(storage: Storage) -> None:
    provider = GatedProvider()
    flaky = FailingBeats(storage, failures=1)
    world = await team_world(flaky, provider=provider, lease=timedelta(seconds=0.3))  # type: ignore[arg-type]
    job_id, _ = await world.generate()
    running = asyncio.create_task(world.app.jobs.run_once("w1"))
    await provider.entered.wait()
    await asyncio.sleep(0.15)  # the first beat (at 0.1 s) failed
    world.clock.advance(timedelta(hours=1))

    async def renewed() -> bool:
        until = (await world.job(job_id)).lease_expires_at
        return until == world.clock.now() + timedelta(seconds=0.3)

    try:
        await eventually(renewed, within=1)
    finally:
        provider.open()
        outcome = await asyncio.gather(running, return_exceptions=True)
    assert outcome == [True]


async def test_a_stale_attempt_never_moves_a_ready_image_back(storage: Storage) -> None:
    world = await team_world(storage)
    job_id, image_id = await world.generate()
    now = world.clock.now()
    async with storage.unit_of_work() as uow:  # claimed, then the worker stalls
        stale = await uow.jobs.claim("stalled", now, now + LONG_LEASE)
        await uow.commit()
    assert stale is not None
    world.clock.advance(LONG_LEASE + timedelta(seconds=1))
    assert await world.app.jobs.run_once("other") is True
    assert await world.image_status(image_id) is ProcessingStatus.READY
    await world.app.jobs._run(stale)  # the stalled worker resumes with attempt 1
    assert (await world.job(job_id)).status is JobStatus.SUCCEEDED
    assert await world.image_status(image_id) is ProcessingStatus.READY
