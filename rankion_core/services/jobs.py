"""The worker side of jobs: claim, run under a heartbeat lease, finish fenced.

A job is claimed with a lease; ``attempts`` is the fencing token. A worker that dies
leaves the lease to expire and another worker takes the job over (``attempts + 1``);
a late worker's ``finish`` is refused by storage, so no job completes twice. A failed
generation or edit is refunded in the same transaction that ends the job, so the
refund happens exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from ..errors import NotFound, ProviderRejected, ProviderUnavailable, RankionError, Unavailable
from ..models import Actor, ExportStatus, Image, Job, JobKind, JobStatus, ProcessingStatus
from ..ports import EditSpec, GenerateSpec, UnitOfWork
from ..rules import credits
from ..rules.webhooks import image_data
from ..webhooks import DeliveryStatus, WebhookEvent
from .deps import Deps
from .outbox import emit

log = logging.getLogger("rankion.jobs")

#: A handler does the job's work and ends it itself, fenced: it stores its results and
#: calls ``uow.jobs.finish(job, job.attempts)`` in one transaction, and drops what it
#: wrote when ``finish`` says a newer attempt owns the job. Errors it raises are sorted
#: by the runner: permanent ones fail the job, transient ones retry it.
Handler = Callable[[Job], Awaitable[None]]


class LeaseLost(Exception):
    """Another attempt owns the job now: this worker stops without touching it."""


class PermanentFailure(RankionError):
    """Ends the job ``failed`` at once, with ``message`` shown to the user."""

    code = "job_failed"


class Jobs:
    """Reading jobs (the API side) and running them (the worker side)."""

    def __init__(
        self,
        deps: Deps,
        *,
        lease: timedelta = timedelta(seconds=30),
        backoff: timedelta = timedelta(seconds=2),
    ) -> None:
        self.deps = deps
        self.lease = lease
        self.backoff = backoff
        self.handlers: dict[JobKind, Handler] = {
            JobKind.GENERATE: self._render,
            JobKind.EDIT: self._render,
        }

    def register(self, kind: JobKind, handler: Handler) -> None:
        self.handlers[kind] = handler

    async def get(self, actor: Actor, job_id: int) -> Job:
        async with self.deps.storage.unit_of_work() as uow:
            job = await uow.jobs.get(actor.team_id, job_id)
        if job is None:
            raise NotFound("job")
        return job

    # ------------------------------------------------------------------ worker side

    async def run_once(self, worker: str, kinds: list[JobKind] | None = None) -> bool:
        """Claim and run one job; False when nothing was claimable."""
        now = self.deps.clock.now()
        async with self.deps.storage.unit_of_work() as uow:
            job = await uow.jobs.claim(worker, now, now + self.lease, kinds or list(self.handlers))
            await uow.commit()
        if job is None:
            return False
        await self._run(job)
        return True

    async def _run(self, job: Job) -> None:
        attempt = job.attempts
        if attempt > job.max_attempts:
            await self._fail(job, attempt, f"gave up after {job.max_attempts} attempts")
            return
        beat = asyncio.create_task(self._heartbeat(job.id, attempt))
        try:
            await self.handlers[job.kind](job)
        except LeaseLost:
            log.info("job %s: attempt %s lost its lease; a newer attempt owns it", job.id, attempt)
        except (PermanentFailure, ProviderRejected) as exc:
            await self._fail(job, attempt, exc.message)
        except (ProviderUnavailable, Unavailable) as exc:
            await self._retry(job, attempt, exc)
        except Exception as exc:
            log.exception("job %s (%s) crashed on attempt %s", job.id, job.kind, attempt)
            await self._retry(job, attempt, Unavailable(f"internal error: {type(exc).__name__}"))
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat

    async def _heartbeat(self, job_id: int, attempt: int) -> None:
        """Renew the lease until cancelled; a storage hiccup is logged and retried at the
        next beat, and only a lease another attempt holds ends the loop."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            now = self.deps.clock.now()
            try:
                async with self.deps.storage.unit_of_work() as uow:
                    held = await uow.jobs.heartbeat(job_id, attempt, now + self.lease)
                    await uow.commit()
            except Exception:
                log.warning("job %s: heartbeat failed; retrying", job_id, exc_info=True)
                continue
            if not held:
                return

    def _delay(self, attempt: int, exc: Exception) -> timedelta:
        hinted = getattr(exc, "retry_after", None)
        base = self.backoff.total_seconds() * (2 ** (attempt - 1))
        seconds = max(float(hinted or 0), base) * random.uniform(1.0, 1.5)
        return timedelta(seconds=seconds)

    async def _retry(self, job: Job, attempt: int, exc: RankionError) -> None:
        if attempt >= job.max_attempts:
            await self._fail(job, attempt, exc.message)
            return
        run_after = self.deps.clock.now() + self._delay(attempt, exc)
        async with self.deps.storage.unit_of_work() as uow:
            if not await uow.jobs.release(job.id, attempt, run_after, exc.message):
                return
            await self._set_image(uow, job, ProcessingStatus.QUEUED, None)
            await uow.commit()
        self.deps.notify_job()

    async def _fail(self, job: Job, attempt: int, message: str) -> None:
        now = self.deps.clock.now()
        job.status, job.error, job.finished_at = JobStatus.FAILED, message, now
        async with self.deps.storage.unit_of_work() as uow:
            if not await uow.jobs.finish(job, attempt):
                return
            image = await self._set_image(uow, job, ProcessingStatus.FAILED, message)
            await self._refund(uow, job, image, now)
            if image is not None:  # webhooks: queued with the failure
                data = image_data(image, job.id)
                await emit(self.deps, uow, job.team_id, WebhookEvent.IMAGE_FAILED, data)
            if job.kind is JobKind.EXPORT:
                await _fail_export(uow, job, message)
            if job.kind is JobKind.WEBHOOK:
                await _fail_delivery(uow, job, now)
            await uow.commit()
        await self._drop_mask(job)

    async def _refund(self, uow: UnitOfWork, job: Job, image: Image | None, now: datetime) -> None:
        cost = credits.cost(job.kind)
        if cost == 0 or await uow.ledger.has_entry(job.id, credits.REFUND_REASON):
            return
        await uow.teams.credit(job.team_id, cost)
        image_id = image.id if image else _image_id(job)
        await uow.ledger.add(
            credits.refund_entry(
                cost, team_id=job.team_id, image_id=image_id, job_id=job.id, now=now
            )
        )
        if image is not None:
            image.credits_charged = 0
            await uow.images.update(image)

    async def _set_image(
        self, uow: UnitOfWork, job: Job, status: ProcessingStatus, error: str | None
    ) -> Image | None:
        image_id = _image_id(job)
        image = await uow.images.get(job.team_id, image_id) if image_id else None
        if image is not None:
            image.processing_status, image.error = status, error
            image.updated_at = self.deps.clock.now()
            await uow.images.update(image)
        return image

    async def _drop_mask(self, job: Job) -> None:
        mask_key = job.payload.get("mask_key")
        if isinstance(mask_key, str):
            await self.deps.blobs.delete(mask_key)

    async def _discard(self, result: dict[str, object] | None) -> None:
        for name in ("blob_key", "thumbnail_key"):
            key = (result or {}).get(name)
            if isinstance(key, str):
                await self.deps.blobs.delete(key)

    # ------------------------------------------------------------------ generate / edit

    async def _render(self, job: Job) -> None:
        image = await self._start_image(job)
        provider = self.deps.provider
        if job.kind is JobKind.EDIT:
            source_bytes, mask = await self._edit_inputs(job)
            spec = EditSpec(
                prompt=image.prompt,
                model=image.model,
                size=image.size,
                quality=image.quality,
                output_format=image.output_format,
                mask=mask,
            )
            made = await provider.edit(source_bytes, spec)
        else:
            made = await provider.generate(
                GenerateSpec(
                    prompt=image.prompt,
                    model=image.model,
                    size=image.size,
                    quality=image.quality,
                    background=image.background,
                    output_format=image.output_format,
                )
            )
        await self._store_result(job, made.data)

    async def _start_image(self, job: Job) -> Image:
        """Mark the image ``processing`` — only while this attempt still holds the job,
        so a stalled worker never rewinds an image a newer attempt already made."""
        async with self.deps.storage.unit_of_work() as uow:
            now = self.deps.clock.now()
            if not await uow.jobs.heartbeat(job.id, job.attempts, now + self.lease):
                raise LeaseLost
            image = await self._set_image(uow, job, ProcessingStatus.PROCESSING, None)
            await uow.commit()
        if image is None:
            raise PermanentFailure("the image was deleted before it was made")
        return image

    async def _edit_inputs(self, job: Job) -> tuple[bytes, bytes | None]:
        async with self.deps.storage.unit_of_work() as uow:
            source = await uow.images.get(job.team_id, int(str(job.payload["source_id"])))
        if source is None or source.blob_key is None:
            raise PermanentFailure("the source image is gone")
        data = await self.deps.blobs.get(source.blob_key)
        mask_key = job.payload.get("mask_key")
        mask = await self.deps.blobs.get(mask_key) if isinstance(mask_key, str) else None
        return data, mask

    async def _store_result(self, job: Job, data: bytes) -> None:
        codec = self.deps.codec
        try:
            info = await asyncio.to_thread(codec.inspect, data)
        except RankionError as exc:
            raise PermanentFailure(f"the provider sent an unusable image: {exc.message}") from exc
        thumb = await asyncio.to_thread(codec.thumbnail, data)
        key = await self.deps.blobs.put(
            data, kind="images", ext=info.ext, content_type=info.mime_type
        )
        thumb_key = await self.deps.blobs.put(
            thumb, kind="thumbnails", ext="webp", content_type="image/webp"
        )
        result: dict[str, object] = {
            "image_id": _image_id(job),
            "blob_key": key,
            "thumbnail_key": thumb_key,
        }
        now = self.deps.clock.now()
        async with self.deps.storage.unit_of_work() as uow:
            image = await uow.images.get(job.team_id, _image_id(job) or 0)
            if image is None:
                await self._discard(result)
                raise PermanentFailure("the image was deleted before it was made")
            image.processing_status, image.error = ProcessingStatus.READY, None
            image.blob_key, image.thumbnail_key = key, thumb_key
            image.width, image.height = info.width, info.height
            image.mime_type, image.bytes = info.mime_type, len(data)
            image.updated_at = now
            job.status, job.result, job.finished_at = JobStatus.SUCCEEDED, result, now
            if not await uow.jobs.finish(job, job.attempts):
                await self._discard(result)  # a newer attempt owns the job
                return
            await uow.images.update(image)
            # webhooks: queued in the transaction that makes the image ready
            await emit(
                self.deps, uow, job.team_id, WebhookEvent.IMAGE_READY, image_data(image, job.id)
            )
            await uow.commit()
        await self._drop_mask(job)


def _image_id(job: Job) -> int | None:
    value = job.payload.get("image_id")
    return value if isinstance(value, int) else None


async def _fail_delivery(uow: UnitOfWork, job: Job, now: datetime) -> None:
    """A webhook job that ends failed outside its handler's record (its process died on
    the last attempt, or no sender is configured) ends its delivery too: never left
    ``pending``."""
    delivery = await uow.webhooks.get_delivery(job.id)
    if delivery is not None and delivery.status is DeliveryStatus.PENDING:
        delivery.status, delivery.finished_at, delivery.next_attempt_at = (
            DeliveryStatus.FAILED,
            now,
            None,
        )
        await uow.webhooks.update_delivery(delivery)


async def _fail_export(uow: UnitOfWork, job: Job, message: str) -> None:
    export = await uow.exports.get_any(job.id)
    if export is not None:
        export.status, export.error = ExportStatus.FAILED, message
        await uow.exports.update(export)
