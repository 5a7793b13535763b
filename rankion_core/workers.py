"""In-process job workers and the periodic maintenance (purge, export expiry), on
plain asyncio: any host runs them, with or without a web framework.

``WorkerPool`` keeps ``size`` provider calls in flight. It runs ``size + overlap``
loops that claim jobs from storage, and lets at most ``size`` of them call the
provider at once (``ProviderSlots``): while one job's bytes are being stored and
thumbnailed, the next job's provider call has already started, so the provider never
idles on bookkeeping (claim, status, blob writes, the fenced finish) and exports run
beside the provider calls instead of taking their slots.

Jobs run in lanes (``rankion_core.rules.fairness``), each with loops of its own:
image work (generate, edit) on the provider slots above, exports on ``export_loops``,
webhook deliveries on ``delivery_loops``. A receiver that never answers or a large
export therefore holds a loop of its own lane, never an image slot; inside a lane,
claims take turns between teams.

The pool's ``hooks()`` (the provider slots, and a wake-up when a job is queued) are
wired in when the ``Rankion`` is built: ``Rankion(deps, hooks=pool.hooks())``, then
``pool.start(rankion)``. A queued job then wakes an idle loop at once in this process,
and every loop polls storage so jobs queued by other processes are found too. Started
on a ``Rankion`` built without them, the pool runs exactly ``size`` image loops (no
overlap: nothing would bound the provider calls) and finds new jobs by polling.

``stop()`` is graceful: loops finish the job in hand (up to ``grace`` seconds); a job
still running then is left to its lease, so another worker takes it over. In a
lifespan (FastAPI, Starlette, an aiohttp ``cleanup_ctx``), ``async with
pool.running(rankion):`` starts the pool and stops it on the way out, however the
block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import socket
from collections.abc import AsyncIterator
from datetime import timedelta

from .models import JobKind
from .ports import EditSpec, GenerateSpec, ImageProvider, PreviewSink, ProviderImage
from .rules.fairness import LANE_KINDS, Lane
from .rules.limits import IDEMPOTENCY_TTL
from .services import Hooks, Rankion, TeamShare
from .services.hooks import ProviderWrapper

__all__ = [
    "DELIVERY_LOOPS",
    "EXPORT_LOOPS",
    "ProviderSlots",
    "WorkerPool",
    "maintenance",
    "worker_name",
]

log = logging.getLogger("rankion.workers")


def worker_name(slot: int) -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{slot}"


class ProviderSlots:
    """``provider`` with at most ``limit`` calls in flight; the rest waits its turn."""

    def __init__(self, provider: ImageProvider, limit: int) -> None:
        self.inner = provider
        self.name = provider.name
        self.default_model = provider.default_model
        self.capabilities = provider.capabilities
        self._slots = asyncio.Semaphore(limit)

    async def generate(
        self, spec: GenerateSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        async with self._slots:
            return await self.inner.generate(spec, previews)

    async def edit(
        self, source: bytes, spec: EditSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        async with self._slots:
            return await self.inner.edit(source, spec, previews)

    async def close(self) -> None:
        await self.inner.close()


#: loops per process for the lanes beside image work (the server's defaults too)
EXPORT_LOOPS = 1
DELIVERY_LOOPS = 4


class WorkerPool:
    """``size`` provider calls at once; ``overlap`` more loops (default ``ceil(size/2)``,
    0 for exactly ``size`` loops) do the bookkeeping of the next jobs meanwhile.
    ``export_loops`` and ``delivery_loops`` run exports and webhook deliveries in lanes
    of their own (only when ``size > 0``: a ``serve --no-workers`` runs no job)."""

    #: the ``Rankion`` whose jobs it runs (given to ``start``)
    app: Rankion

    def __init__(
        self,
        *,
        size: int,
        poll_seconds: float = 1.0,
        maintenance_seconds: float = 3600.0,
        grace: float = 10.0,
        overlap: int | None = None,
        export_loops: int = EXPORT_LOOPS,
        delivery_loops: int = DELIVERY_LOOPS,
    ) -> None:
        self.size = size
        self.overlap = math.ceil(size / 2) if overlap is None else overlap
        self.export_loops = export_loops
        self.delivery_loops = delivery_loops
        self.poll_seconds = poll_seconds
        self.maintenance_seconds = maintenance_seconds
        self.grace = grace
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def wake(self) -> None:
        self._wake.set()

    def hooks(self) -> Hooks:
        """What the ``Rankion`` the pool runs is built with: at most ``size`` provider
        calls in flight (when loops overlap), and a wake-up when a job is queued."""
        slots: tuple[ProviderWrapper, ...] = ()
        if self.size > 0 and self.overlap > 0:
            slots = (functools.partial(ProviderSlots, limit=self.size),)
        return Hooks(provider=slots, job_queued=(self.wake,))

    def start(self, app: Rankion, *, maintenance: bool = True) -> None:
        """Start the loops in the running event loop (``stop()`` ends them; a stopped
        pool may be started again)."""
        if self._tasks:
            raise RuntimeError("the worker pool is running already")
        self._stopping.clear()
        self.app = app
        overlap = self.overlap if self.wake in app.hooks.job_queued else 0
        if self.size <= 0:
            lanes: dict[Lane, int] = {}
        else:
            lanes = {
                Lane.IMAGE: self.size + overlap,
                Lane.EXPORT: self.export_loops,
                Lane.WEBHOOK: self.delivery_loops,
            }
        slot = 0
        for lane, count in lanes.items():
            kinds = list(LANE_KINDS[lane])
            # exports and deliveries may run long: one team holds all but one loop
            shared = lane is not Lane.IMAGE and count > 1
            share = TeamShare(count - 1) if shared else None
            for _ in range(count):
                self._tasks.append(asyncio.create_task(self._loop(slot, kinds, share)))
                slot += 1
        if maintenance:
            self._tasks.append(asyncio.create_task(self._maintain()))

    @contextlib.asynccontextmanager
    async def running(self, app: Rankion, *, maintenance: bool = True) -> AsyncIterator[None]:
        """``start(app)`` now, ``await stop()`` when the block ends (a lifespan's)."""
        self.start(app, maintenance=maintenance)
        try:
            yield
        finally:
            await self.stop()

    async def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        _done, pending = (
            await asyncio.wait(self._tasks, timeout=self.grace)
            if self._tasks
            else (
                set(),
                set(),
            )
        )
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _loop(self, slot: int, kinds: list[JobKind], share: TeamShare | None) -> None:
        name = worker_name(slot)
        while not self._stopping.is_set():
            try:
                ran = await self.app.jobs.run_once(name, kinds, share)
            except Exception:  # storage hiccup: log, back off, go on
                log.exception("worker %s failed to claim or run a job", name)
                ran = False
            if not ran:
                await self._idle()

    async def _idle(self) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self.poll_seconds)

    async def _maintain(self) -> None:
        while not self._stopping.is_set():
            try:
                await maintenance(self.app)
            except Exception:
                log.exception("maintenance run failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.maintenance_seconds)


async def maintenance(app: Rankion) -> dict[str, int]:
    """Purge trash that is due, drop expired export ZIPs and old idempotency records."""
    purged = await app.gallery.purge()
    expired = await app.exports.expire()
    now = app.deps.clock.now()
    async with app.deps.storage.unit_of_work() as uow:
        forgotten = await uow.idempotency.purge(now - IDEMPOTENCY_TTL - timedelta(minutes=1))
        await uow.commit()
    if purged or expired:
        log.info("maintenance: purged %s images, expired %s exports", purged, expired)
    return {"purged": purged, "expired_exports": expired, "idempotency_purged": forgotten}
