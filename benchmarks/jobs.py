"""Job throughput: N generations through a ``WorkerPool`` of W slots on SQLite, next to
the ideal ``ceil(N / W) * L`` of a provider that takes L seconds a call.

    .venv/bin/python -m benchmarks.jobs [--jobs 200] [--latency 0.5] [--workers 1,4,8,16]
        [--overlap N]

The provider sleeps ``L`` and returns one PNG drawn once by the procedural provider,
so the figures measure the job machinery (claim, lease, heartbeat, blob writes,
thumbnail, the fenced finish) rather than drawing. Storage is the embedded default:
a SQLite file and a local blob folder in a fresh temporary directory per row. All N
jobs are queued first; the clock runs from ``pool.start()`` until the last job has
committed. ``efficiency`` is ideal / measured: the share of the ideal throughput
reached (the target is >= 0.9).

W is the pool's ``size``: provider calls in flight. The pool runs ``W + overlap`` job
loops (default ``ceil(W/2)``) so the bookkeeping around one call overlaps the next;
``--overlap 0`` shows the pool with exactly W loops, where each job's ~60 ms of
claim, status writes, thumbnail and blob writes add to every provider call.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from attrs import define

from rankion_core import Actor, Deps, HmacUrlSigner, Hooks, Rankion
from rankion_core.models import Job, JobKind, ProcessingStatus
from rankion_core.ports import EditSpec, GenerateSpec, ImageQuery, PreviewSink, ProviderImage
from rankion_core.services.creation import GenerateRequest
from rankion_core.services.hooks import Handler
from rankion_core.workers import WorkerPool
from rankion_fsspec import open_blob_store
from rankion_procedural import PillowCodec, ProceduralProvider
from rankion_sqlalchemy import open_storage


class FixedLatencyProvider(ProceduralProvider):
    """Takes ``latency`` seconds a call, then hands back the same small PNG."""

    def __init__(self, latency: float, picture: bytes) -> None:
        super().__init__()
        self.latency = latency
        self.picture = picture
        self.calls = 0

    async def generate(
        self, spec: GenerateSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        self.calls += 1
        await asyncio.sleep(self.latency)
        return ProviderImage(data=self.picture)

    async def edit(
        self, source: bytes, spec: EditSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        return await self.generate(GenerateSpec(spec.prompt, spec.model, spec.size, "auto"))


@define(frozen=True)
class Row:
    workers: int
    overlap: int
    seconds: float
    ideal: float
    queue_seconds: float

    @property
    def efficiency(self) -> float:
        return self.ideal / self.seconds


async def picture() -> bytes:
    spec = GenerateSpec("a lighthouse", "procedural-v1", "256x256", "low")
    return (await ProceduralProvider().generate(spec)).data


async def build(folder: Path, provider: FixedLatencyProvider, hooks: Hooks) -> Rankion:
    storage = open_storage(f"sqlite:///{folder / 'rankion.db'}")
    await storage.migrate()
    deps = Deps(
        storage=storage,
        blobs=open_blob_store(str(folder / "blobs")),
        provider=provider,
        codec=PillowCodec(),
        signer=HmacUrlSigner(b"benchmark-secret-0123456789", "http://bench"),
    )
    return Rankion(deps, lease=timedelta(seconds=30), hooks=hooks)


async def run_row(
    jobs: int, workers: int, latency: float, png: bytes, overlap: int | None = None
) -> Row:
    with tempfile.TemporaryDirectory(prefix="rankion-bench-jobs-") as tmp:
        provider = FixedLatencyProvider(latency, png)
        pool = WorkerPool(size=workers, overlap=overlap)
        done = Countdown(jobs)
        app = await build(Path(tmp), provider, Hooks(jobs=(done.counted,)) + pool.hooks())
        try:
            return await _measure(app, pool, done, provider, jobs, latency)
        finally:
            await app.deps.blobs.close()
            await app.deps.storage.close()


class Countdown:
    """Set once ``jobs`` generations have finished (a job hook, wired in at build)."""

    def __init__(self, jobs: int) -> None:
        self.left = jobs
        self.finished = asyncio.Event()

    def counted(self, kind: JobKind, handler: Handler) -> Handler:
        if kind is not JobKind.GENERATE:
            return handler

        async def run(job: Job) -> None:
            await handler(job)
            self.left -= 1
            if self.left == 0:
                self.finished.set()

        return run


async def _measure(
    app: Rankion,
    pool: WorkerPool,
    done: Countdown,
    provider: FixedLatencyProvider,
    jobs: int,
    latency: float,
) -> Row:
    team = await app.accounts.create_team("bench", 5 * jobs)
    actor = Actor(team_id=team.id)
    started = time.perf_counter()
    for n in range(jobs):
        await app.creation.generate(actor, GenerateRequest(prompt=f"picture {n}", size="256x256"))
    queued = time.perf_counter() - started

    started = time.perf_counter()
    pool.start(app, maintenance=False)
    await done.finished.wait()
    seconds = time.perf_counter() - started
    await pool.stop()
    await _check_all_ready(app, actor, jobs, provider)
    workers = pool.size
    return Row(workers, pool.overlap, seconds, math.ceil(jobs / workers) * latency, queued)


async def _check_all_ready(
    app: Rankion, actor: Actor, jobs: int, provider: FixedLatencyProvider
) -> None:
    query = ImageQuery(team_id=actor.team_id, statuses=(ProcessingStatus.READY,), per_page=1)
    ready = (await app.gallery.list(actor, query)).total
    if ready != jobs or provider.calls != jobs:
        raise SystemExit(f"expected {jobs} ready images and calls: {ready}, {provider.calls}")


async def main(jobs: int, latency: float, workers: Sequence[int], overlap: int | None) -> None:
    png = await picture()
    print(f"{jobs} generations, provider latency L = {latency} s, SQLite + local folder")
    print(
        f"  {'W':>3}  {'loops':>5}  {'measured':>9}  {'ideal':>8}  {'efficiency':>10}  "
        f"{'jobs/s':>7}  queueing"
    )
    for size in workers:
        row = await run_row(jobs, size, latency, png, overlap)
        print(
            f"  {row.workers:>3}  {row.workers + row.overlap:>5}  {row.seconds:>8.2f}s  "
            f"{row.ideal:>7.2f}s  {row.efficiency:>10.2f}  {jobs / row.seconds:>7.1f}  "
            f"{row.queue_seconds:.2f}s"
        )


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per provider call")
    parser.add_argument("--workers", type=_sizes, default=[1, 4, 8, 16], help="e.g. 1,4,8,16")
    parser.add_argument("--overlap", type=int, default=None, help="extra loops (default W/2)")
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.latency, args.workers, args.overlap))
