"""Previews on every storage backend (memory, SQLite, PostgreSQL, the plug-in): each
partial image is a blob of the job's own kind listed in the job while it runs, never
the image's bytes; all are deleted when the job ends, succeeded or failed; the orphan
check counts them while the job is active, and a worker that dies mid-job leaves them
to the attempt that takes over, which deletes them at its end."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from rankion_core import Actor, Deps, HmacUrlSigner, ProviderRejected, Rankion
from rankion_core.defaults import FakeClock
from rankion_core.models import JobStatus, ProcessingStatus
from rankion_core.ports import EditSpec, GenerateSpec, PreviewSink, ProviderImage, Storage
from rankion_core.rules.previews import previews_of
from rankion_core.services.creation import GenerateRequest
from rankion_fsspec import FsspecBlobStore, open_blob_store
from rankion_procedural import PillowCodec, ProceduralProvider
from rankion_server.maintenance_checks import orphan_blobs, referenced_blobs, stored_blobs


class Watched(ProceduralProvider):
    """The procedural provider, keeping what it handed out; ``hang`` holds a call after
    its first preview (a worker about to die), ``fail`` refuses after the previews."""

    def __init__(self) -> None:
        super().__init__()
        self.previews: list[bytes] = []
        self.finals: list[bytes] = []
        self.hang = False
        self.fail = False
        self.previewed = asyncio.Event()

    async def generate(
        self, spec: GenerateSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        async def keep(index: int, data: bytes) -> None:
            self.previews.append(data)
            assert previews is not None
            await previews(index, data)
            self.previewed.set()
            if self.hang:
                await asyncio.Event().wait()

        made = await super().generate(spec, keep if previews is not None else None)
        if self.fail:
            raise ProviderRejected("refused after its previews")
        self.finals.append(made.data)
        return made

    async def edit(
        self, source: bytes, spec: EditSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        return await super().edit(source, spec, previews)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def blobs(clock: FakeClock) -> AsyncIterator[FsspecBlobStore]:
    async with open_blob_store(f"memory://{uuid.uuid4().hex}", clock=clock) as store:
        yield store


@pytest.fixture
def provider() -> Watched:
    return Watched()


@pytest.fixture
async def app(
    storage: Storage, blobs: FsspecBlobStore, clock: FakeClock, provider: Watched
) -> Rankion:
    deps = Deps(
        storage=storage,
        blobs=blobs,
        provider=provider,
        codec=PillowCodec(),
        signer=HmacUrlSigner(b"0123456789abcdef0123", "http://test"),
        clock=clock,
    )
    return Rankion(deps)


def _previews_in(keys: set[str]) -> set[str]:
    return {k for k in keys if k.startswith("previews-")}


async def test_the_image_is_the_final_frame_and_previews_go_with_the_job(
    app: Rankion, provider: Watched
) -> None:
    actor = Actor((await app.accounts.create_team("acme", 100)).id)
    request = GenerateRequest(prompt="a lighthouse", size="512x512", partial_images=3)
    queued = await app.creation.generate(actor, request)
    await app.run_pending()

    image = (await app.gallery.detail(actor, queued.image_id)).view.image
    assert image.processing_status is ProcessingStatus.READY and image.blob_key
    stored = await app.deps.blobs.get(image.blob_key)
    assert len(provider.previews) == 3
    assert stored == provider.finals[-1], "the image is the provider's final frame"
    assert all(stored != p for p in provider.previews), "never a preview as the image"
    job = await app.jobs.get(actor, queued.job_id)
    assert job.status is JobStatus.SUCCEEDED and previews_of(job.payload) == []
    assert _previews_in(await stored_blobs(app)) == set()
    assert await orphan_blobs(app) == set()


async def test_a_failed_job_deletes_its_previews_and_refunds(
    app: Rankion, provider: Watched
) -> None:
    provider.fail = True
    actor = Actor((await app.accounts.create_team("acme", 100)).id)
    request = GenerateRequest(prompt="a lighthouse", size="256x256", partial_images=2, n=2)
    queued = await app.creation.generate(actor, request)
    await app.run_pending()
    assert len(provider.previews) == 4
    for made in queued.images:
        job = await app.jobs.get(actor, made.job_id)
        assert job.status is JobStatus.FAILED and previews_of(job.payload) == []
    assert _previews_in(await stored_blobs(app)) == set()
    assert await orphan_blobs(app) == set()
    assert await app.accounts.balance(actor) == 100


async def test_a_dead_workers_previews_are_kept_until_the_next_attempt_ends(
    app: Rankion, provider: Watched, clock: FakeClock
) -> None:
    provider.hang = True
    actor = Actor((await app.accounts.create_team("acme", 100)).id)
    request = GenerateRequest(prompt="a lighthouse", size="256x256", partial_images=1)
    queued = await app.creation.generate(actor, request)
    dying = asyncio.create_task(app.jobs.run_once("doomed"))
    await asyncio.wait_for(provider.previewed.wait(), 30)
    dying.cancel()  # the worker stops mid-job: nothing of it runs any more
    with pytest.raises(asyncio.CancelledError):
        await dying

    left = _previews_in(await stored_blobs(app))
    assert len(left) == 1
    assert left <= await referenced_blobs(app.deps.storage), "a running job's previews"
    assert await orphan_blobs(app) == set()

    provider.hang = False
    clock.advance(timedelta(minutes=5))  # the dead attempt's lease runs out
    assert await app.run_pending() == 1
    job = await app.jobs.get(actor, queued.job_id)
    assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 2)
    assert _previews_in(await stored_blobs(app)) == set(), "both attempts' previews are gone"
    assert await orphan_blobs(app) == set()
