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
import time
from collections import Counter
from datetime import datetime, timedelta

from attrs import define

from ..errors import NotFound, ProviderRejected, ProviderUnavailable, RankionError, Unavailable
from ..models import (
    ACTIVE_JOB_STATUSES,
    Actor,
    ExportStatus,
    Image,
    Job,
    JobKind,
    JobStatus,
    ProcessingStatus,
)
from ..ports import EditSpec, GenerateSpec, UnitOfWork, WebReady
from ..rules import credits, generation, renditions, similar
from ..rules.previews import (
    Preview,
    previews_kind,
    previews_of,
    with_preview,
    without_previews,
)
from ..rules.webhooks import image_data
from ..webhooks import DeliveryStatus, WebhookEvent
from . import joblog, outbox
from .deps import Deps
from .hooks import Handler, Hooks
from .outbox import emit

log = logging.getLogger("rankion.jobs")


class LeaseLost(Exception):
    """Another attempt owns the job now: this worker stops without touching it."""


class PermanentFailure(RankionError):
    """Ends the job ``failed`` at once, with ``message`` shown to the user."""

    code = "job_failed"


class TeamShare:
    """The loops of one lane in this process, shared between teams: a team whose jobs
    hold ``most`` of them is skipped by the lane's next claims
    (``JobRepository.claim``'s ``skip_teams``), so a loop stays free for the other
    teams while one team's jobs run long (a webhook receiver that never answers holds
    its delivery for the attempt's whole time limit). Not work-conserving: a team alone
    in the lane runs ``most`` jobs at once. The lane's claims in this process take
    turns (``claims``; each is one short statement), so that two loops never both see
    a team below its share and both claim its jobs."""

    def __init__(self, most: int) -> None:
        if most < 1:
            raise ValueError("a team's share of a lane is at least one loop")
        self.most = most
        self.claims = asyncio.Lock()
        self._held: Counter[int] = Counter()

    def full(self) -> list[int]:
        """The teams whose jobs hold their whole share now."""
        return sorted(team for team, held in self._held.items() if held >= self.most)

    def take(self, team_id: int) -> None:
        self._held[team_id] += 1

    def give(self, team_id: int) -> None:
        self._held[team_id] -= 1
        if self._held[team_id] <= 0:
            del self._held[team_id]


class Jobs:
    """Reading jobs (the API side) and running them (the worker side)."""

    def __init__(
        self,
        deps: Deps,
        *,
        lease: timedelta = timedelta(seconds=30),
        backoff: timedelta = timedelta(seconds=2),
        hooks: Hooks = Hooks(),
    ) -> None:
        self.deps = deps
        self.lease = lease
        self.backoff = backoff
        self._hooks = hooks
        self.handlers: dict[JobKind, Handler] = {}
        self.register(JobKind.GENERATE, self._render)
        self.register(JobKind.EDIT, self._render)

    def register(self, kind: JobKind, handler: Handler) -> None:
        """Run ``handler`` for jobs of ``kind``, inside the hooks' job wrappers."""
        self.handlers[kind] = self._hooks.wrap_job(kind, handler)

    async def get(self, actor: Actor, job_id: int) -> Job:
        async with self.deps.storage.unit_of_work() as uow:
            job = await uow.jobs.get(actor.team_id, job_id)
        if job is None:
            raise NotFound("job")
        return job

    async def drawing(self, actor: Actor, image_id: int) -> Job | None:
        """The job still drawing the team's image: the one its newest charge names,
        while it is queued or running. None once the image is drawn or failed (its job
        has ended), and for an image the team does not have."""
        async with self.deps.storage.unit_of_work() as uow:
            job_id = await uow.ledger.job_of_image(actor.team_id, image_id)
            job = None if job_id is None else await uow.jobs.get(actor.team_id, job_id)
        return job if job is not None and job.status in ACTIVE_JOB_STATUSES else None

    # ------------------------------------------------------------------ worker side

    async def run_once(
        self, worker: str, kinds: list[JobKind] | None = None, share: TeamShare | None = None
    ) -> bool:
        """Claim and run one job; False when nothing was claimable. ``share``: the
        ``TeamShare`` of the lane ``kinds`` belong to."""
        if share is None:
            job = await self._claim(worker, kinds, [])
        else:
            async with share.claims:
                job = await self._claim(worker, kinds, share.full())
                if job is not None:
                    share.take(job.team_id)
        if job is None:
            return False
        try:
            await self._run(job)
        finally:
            if share is not None:
                share.give(job.team_id)
        return True

    async def _claim(
        self, worker: str, kinds: list[JobKind] | None, skip_teams: list[int]
    ) -> Job | None:
        now, wanted = self.deps.clock.now(), kinds or list(self.handlers)
        async with self.deps.storage.unit_of_work() as uow:
            claim = uow.jobs.claim
            job = await (
                claim(worker, now, now + self.lease, wanted, skip_teams=skip_teams)
                if skip_teams  # (a storage plug-in written before it is asked only then)
                else claim(worker, now, now + self.lease, wanted)
            )
            await uow.commit()
        return job

    async def _run(self, job: Job) -> None:
        attempt = job.attempts
        if attempt > job.max_attempts:
            await self._fail(job, attempt, f"gave up after {job.max_attempts} attempts")
            return
        joblog.started(job)
        started = time.perf_counter()
        beat = asyncio.create_task(self._heartbeat(job.id, attempt))
        try:
            await self.handlers[job.kind](job)
            _log_end(job, time.perf_counter() - started)
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
        delay = self._delay(attempt, exc)
        run_after = self.deps.clock.now() + delay
        async with self.deps.storage.unit_of_work() as uow:
            if not await uow.jobs.release(job.id, attempt, run_after, exc.message):
                return
            await self._set_image(uow, job, ProcessingStatus.QUEUED, None)
            await uow.commit()
        joblog.retried(job, exc.message, delay)
        self.deps.notify_job()

    async def _fail(self, job: Job, attempt: int, message: str) -> None:
        now = self.deps.clock.now()
        job.status, job.error, job.finished_at = JobStatus.FAILED, message, now
        previews = previews_of(job.payload)
        job.payload = without_previews(job.payload)
        async with self.deps.storage.unit_of_work() as uow:
            if not await uow.jobs.finish(job, attempt):
                return
            image = await self._set_image(uow, job, ProcessingStatus.FAILED, message)
            refund = await self._refund(uow, job, image, now)
            queued = 0
            if image is not None:  # webhooks: queued with the failure
                data = image_data(image, job.id)
                queued = await emit(self.deps, uow, job.team_id, WebhookEvent.IMAGE_FAILED, data)
            if job.kind is JobKind.EXPORT:
                await _fail_export(uow, job, message)
            if job.kind is JobKind.WEBHOOK:
                await _fail_delivery(uow, job, now)
            await outbox.commit(self.deps, uow, queued)
        joblog.failed(job, message)
        if refund:
            joblog.refunded(job, refund)
        await self._drop_mask(job)
        await self._discard([p.key for p in previews])

    async def _refund(self, uow: UnitOfWork, job: Job, image: Image | None, now: datetime) -> int:
        """Give the job's charge back (once); the credits refunded, 0 if none."""
        cost = credits.cost(job.kind)
        if cost == 0 or await uow.ledger.has_entry(job.id, credits.REFUND_REASON):
            return 0
        await uow.teams.credit(job.team_id, cost)
        image_id = image.id if image else _image_id(job)
        await uow.ledger.add(
            credits.refund_entry(
                cost, team_id=job.team_id, image_id=image_id, job_id=job.id, now=now
            )
        )
        if image is not None:
            image.credits_charged = 0
            await uow.images.update(image, tags=False)
        return cost

    async def _set_image(
        self, uow: UnitOfWork, job: Job, status: ProcessingStatus, error: str | None
    ) -> Image | None:
        image_id = _image_id(job)
        image = await uow.images.get(job.team_id, image_id) if image_id else None
        if image is not None:
            image.processing_status, image.error = status, error
            image.updated_at = self.deps.clock.now()
            await uow.images.update(image, tags=False)
        return image

    async def _drop_mask(self, job: Job) -> None:
        mask_key = job.payload.get("mask_key")
        if isinstance(mask_key, str):
            await self.deps.blobs.delete(mask_key)

    async def _discard(self, keys: list[str]) -> None:
        for key in keys:
            await self.deps.blobs.delete(key)

    # ------------------------------------------------------------------ generate / edit

    async def _render(self, job: Job) -> None:
        image = await self._start_image(job)
        provider = self.deps.provider
        options = generation.options_of(job.payload)
        wanted = int(options.get("partial_images", 0))
        sink = _PreviewSink(self, job, wanted) if wanted else None
        if job.kind is JobKind.EDIT:
            source_bytes, mask = await self._edit_inputs(job)
            spec = EditSpec(
                prompt=image.prompt,
                model=image.model,
                size=image.size,
                quality=image.quality,
                output_format=image.output_format,
                mask=mask,
                input_fidelity=options.get("input_fidelity"),
                partial_images=wanted,
            )
            made = await provider.edit(source_bytes, spec, sink)
        else:
            made = await provider.generate(
                GenerateSpec(
                    prompt=image.prompt,
                    model=image.model,
                    size=image.size,
                    quality=image.quality,
                    background=image.background,
                    output_format=image.output_format,
                    output_compression=options.get("output_compression"),
                    moderation=options.get("moderation"),
                    partial_images=wanted,
                ),
                sink,
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
        sizes = renditions.sizes(info.width, info.height)
        try:
            web = await asyncio.to_thread(codec.web_ready, data, sizes, renditions.FORMATS)
        except RankionError as exc:
            raise PermanentFailure(f"the provider sent an unusable image: {exc.message}") from exc
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
        written = [key, thumb_key]  # what to remove if the image is not stored after all
        try:
            made = await self._store_web_ready(web, info.ext, info.mime_type, written)
        except BaseException:
            await self._discard(written)
            raise
        now = self.deps.clock.now()
        async with self.deps.storage.unit_of_work() as uow:
            image = await uow.images.get(job.team_id, _image_id(job) or 0)
            if image is None:
                await self._discard(written)
                raise PermanentFailure("the image was deleted before it was made")
            image.processing_status, image.error = ProcessingStatus.READY, None
            image.blob_key, image.thumbnail_key = key, thumb_key
            image.width, image.height = info.width, info.height
            image.mime_type, image.bytes = info.mime_type, len(data)
            image.placeholder, image.phash = web.placeholder, similar.to_signed(web.phash)
            image.public_key = made.public_key
            image.renditions = [r.as_data() for r in made.renditions]
            image.updated_at = now
            previews = previews_of(job.payload)
            job.payload = without_previews(job.payload)
            job.status, job.result, job.finished_at = JobStatus.SUCCEEDED, result, now
            if not await uow.jobs.finish(job, job.attempts):
                await self._discard(written)
                raise LeaseLost  # a newer attempt owns the job
            await uow.images.update(image, tags=False)
            # webhooks: queued in the transaction that makes the image ready
            queued = await emit(
                self.deps, uow, job.team_id, WebhookEvent.IMAGE_READY, image_data(image, job.id)
            )
            await outbox.commit(self.deps, uow, queued)
        await self._drop_mask(job)
        await self._discard([p.key for p in previews])

    async def _store_web_ready(
        self, web: WebReady, ext: str, mime_type: str, written: list[str]
    ) -> _Stored:
        """Put the clean copy and the renditions; each key goes into ``written`` as it is
        written, so a failure later can remove them."""
        put = self.deps.blobs.put
        public_key = None
        if web.public is not None:
            public_key = await put(web.public, kind="public", ext=ext, content_type=mime_type)
            written.append(public_key)
        made: list[renditions.Rendition] = []
        for r in web.renditions:
            mime = renditions.MIME_TYPES[r.format]
            rkey = await put(r.data, kind="renditions", ext=r.format, content_type=mime)
            written.append(rkey)
            made.append(renditions.Rendition(r.format, r.width, r.height, len(r.data), rkey))
        return _Stored(public_key, made)


class _PreviewSink:
    """Where a provider's partial images go while a job runs: each is checked, stored
    under the job's own blob kind, and listed in the job's payload (fenced on the
    attempt, so any process's event stream finds it). At most ``wanted`` per attempt;
    a lost lease removes the blob just written and stops the job."""

    def __init__(self, jobs: Jobs, job: Job, wanted: int) -> None:
        self.jobs, self.job, self.wanted = jobs, job, wanted
        self.taken = 0

    async def __call__(self, index: int, data: bytes) -> None:
        if self.taken >= self.wanted:
            return
        self.taken += 1
        deps, job = self.jobs.deps, self.job
        try:
            info = await asyncio.to_thread(deps.codec.inspect, data)
        except RankionError:
            log.warning("job %s: preview %s is no image; left out", job.id, index)
            return
        key = await deps.blobs.put(
            data, kind=previews_kind(job.id), ext=info.ext, content_type=info.mime_type
        )
        payload = with_preview(job.payload, Preview(index, key, job.attempts))
        committed = False
        try:
            async with deps.storage.unit_of_work() as uow:
                held = await uow.jobs.set_payload(job.id, job.attempts, payload)
                await uow.commit()
                committed = True
        except BaseException:
            if not committed:  # once committed the job may point to it
                await deps.blobs.delete(key)
            raise
        if not held:
            await deps.blobs.delete(key)
            raise LeaseLost
        job.payload = payload


@define(frozen=True)
class _Stored:
    public_key: str | None
    renditions: list[renditions.Rendition]


def _log_end(job: Job, seconds: float) -> None:
    """A handler that returned ended its job itself: succeeded, or failed for good (a
    delivery's last attempt). One that released its job for a retry logged that."""
    if job.status is JobStatus.SUCCEEDED:
        joblog.succeeded(job, seconds)
    elif job.status is JobStatus.FAILED:
        joblog.failed(job, job.error or "failed")


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
