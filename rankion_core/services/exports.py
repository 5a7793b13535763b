"""Bulk export: a job that streams the chosen images into a ZIP in the blob store.

The ZIP is written as a stream (stored entries with data descriptors) straight into
``BlobStore.put_stream``: memory stays flat whatever the export's size. Progress
(``done``/``total``) is saved as it goes, at most every ``progress_every``.
"""

from __future__ import annotations

import io
import json
import math
import re
import time
import unicodedata
import zipfile
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

from attrs import define

from ..errors import NotFound, RateLimited, Unavailable
from ..models import Actor, Export, ExportStatus, Image, Job, JobKind, JobStatus, ProcessingStatus
from ..ports import UnitOfWork
from ..rules import bulk
from ..rules.limits import ACTIVE_EXPORTS_RETRY_AFTER, EXPORT_MAX, EXPORT_RETENTION, at_cap
from ..rules.renditions import Rendition, renditions_of
from ..rules.timeutil import iso_z
from ..rules.webhooks import export_data
from ..webhooks import WebhookEvent
from . import joblog, outbox
from .deps import Deps
from .jobs import Jobs, LeaseLost
from .outbox import emit
from .views import blob_url

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


@define(frozen=True)
class ExportView:
    export: Export
    download_url: str | None


def slug(text: str | None, limit: int = 60) -> str:
    """ASCII letters, digits, ``.``, ``_`` and ``-`` only; never empty, never a path."""
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    cleaned = _UNSAFE.sub("-", folded).strip("-._")[:limit].strip("-._")
    return cleaned or "image"


def entry_name(image: Image) -> str:
    ext = _EXT.get(image.mime_type or "", "bin")
    return f"{image.id}-{slug(image.title or image.prompt)}.{ext}"


def exportable(image: Image | None) -> bool:
    return (
        image is not None
        and image.deleted_at is None
        and image.processing_status is ProcessingStatus.READY
        and image.blob_key is not None
    )


def manifest_row(image: Image, name: str) -> dict[str, object]:
    return {
        "id": image.id,
        "file": name,
        "title": image.title,
        "prompt": image.prompt,
        "model": image.model,
        "tags": image.tags,
        "parent_id": image.parent_id,
        "root_id": image.root_id,
        "created_at": iso_z(image.created_at),
        "width": image.width,
        "height": image.height,
    }


def rendition_name(image: Image, rendition: Rendition) -> str:
    base = entry_name(image).rsplit(".", 1)[0]
    return f"{base}-{rendition.width}w.{rendition.format}"


def rendition_row(name: str, rendition: Rendition) -> dict[str, object]:
    return {
        "file": name,
        "format": rendition.format,
        "width": rendition.width,
        "height": rendition.height,
    }


class _Sink(io.RawIOBase):
    """A write-only, unseekable file that hands what was written to the caller."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> list[bytes]:
        """What was written since the last drain, as written: the pieces are handed on
        (a 1 MB image chunk among a few header bytes is never copied to join them)."""
        out, self._chunks = self._chunks, []
        return out


class Exports:
    def __init__(
        self, deps: Deps, jobs: Jobs, *, progress_every: timedelta = timedelta(seconds=0.5)
    ) -> None:
        self.deps = deps
        self.progress_every = progress_every.total_seconds()
        jobs.register(JobKind.EXPORT, self.run)

    async def start(
        self, actor: Actor, ids: Sequence[int], *, include_renditions: bool = False
    ) -> Export:
        """Queue an export of ``ids``; with ``include_renditions`` the ZIP also holds
        each image's renditions (``{id}-{slug}-{width}w.{format}``)."""
        wanted = bulk.check_ids(ids, EXPORT_MAX)
        now = self.deps.clock.now()
        async with self.deps.storage.unit_of_work() as uow:
            await self._check_export_caps(uow, actor.team_id, now)
            job = await uow.jobs.add(
                Job(
                    id=0,
                    team_id=actor.team_id,
                    kind=JobKind.EXPORT,
                    status=JobStatus.QUEUED,
                    created_at=now,
                    payload={"include_renditions": True} if include_renditions else {},
                )
            )
            export = Export(
                job_id=job.id,
                team_id=actor.team_id,
                ids=wanted,
                status=ExportStatus.QUEUED,
                created_at=now,
                total=len(wanted),
            )
            await uow.exports.add(export)
            await uow.commit()
        joblog.queued(job)
        self.deps.notify_job()
        return export

    async def _check_export_caps(self, uow: UnitOfWork, team_id: int, now: datetime) -> None:
        """At most ``max_active_exports`` queued or running exports per team, and no new
        one while the team's ZIPs kept for download hold ``max_export_bytes`` (so a
        team cannot fill the blob store with copies of its images). Charging nothing
        locks the team's row until the commit, so a team's concurrent requests are
        counted one after another."""
        active, kept = self.deps.max_active_exports, self.deps.max_export_bytes
        if active <= 0 and kept <= 0:
            return
        await uow.teams.charge(team_id, 0)
        if active > 0 and at_cap(await uow.jobs.count_active(team_id, [JobKind.EXPORT]), active):
            raise RateLimited(
                f"the team already has {active} exports queued or running",
                retry_after=ACTIVE_EXPORTS_RETRY_AFTER,
            )
        if kept > 0:
            held, first = await uow.exports.kept(team_id, now)
            if held >= kept and first is not None:
                wait = max(1, math.ceil((first - now).total_seconds()))
                raise RateLimited(
                    f"the team's exports kept for download hold {held} bytes (limit {kept});"
                    f" the first of them is deleted at {iso_z(first)}",
                    retry_after=wait,
                )

    async def status(self, actor: Actor, job_id: int) -> ExportView:
        """The export as its job stands: its status is the job's (``ExportStatus.of_job``)."""
        async with self.deps.storage.unit_of_work() as uow:
            export = await uow.exports.get(actor.team_id, job_id)
            job = await uow.jobs.get(actor.team_id, job_id) if export is not None else None
        if export is None:
            raise NotFound("export")
        if job is not None:
            export.status = ExportStatus.of_job(job.status)
        return ExportView(export, self.download_url(export))

    def download_url(self, export: Export) -> str | None:
        now = self.deps.clock.now()
        if export.blob_key is None or export.expires_at is None or export.expires_at <= now:
            return None
        name = f"rankion-export-{export.job_id}.zip"
        return blob_url(self.deps, export.blob_key, export.expires_at, filename=name)

    async def run(self, job: Job) -> None:
        """The job handler: build the ZIP, then end the job and the export together."""
        async with self.deps.storage.unit_of_work() as uow:
            export = await uow.exports.get_any(job.id)
            if export is None:
                raise NotFound("export")
            export.status, export.done, export.skipped_ids = ExportStatus.RUNNING, 0, []
            await uow.exports.update(export)
            found = {i.id: i for i in await uow.images.get_many(export.team_id, export.ids)}
            await uow.commit()
        with_renditions = job.payload.get("include_renditions") is True
        key, size = await self.deps.blobs.put_stream(
            self._zip(export, found, with_renditions),
            kind="exports",
            ext="zip",
            content_type="application/zip",
        )
        await self._finish(job, export, key, size)

    async def _finish(self, job: Job, export: Export, key: str, size: int) -> None:
        now = self.deps.clock.now()
        export.status, export.done = ExportStatus.READY, export.total
        export.blob_key, export.size_bytes = key, size
        export.expires_at = now + EXPORT_RETENTION
        job.status, job.finished_at = JobStatus.SUCCEEDED, now
        job.result = {"size_bytes": size, "skipped_ids": export.skipped_ids}
        async with self.deps.storage.unit_of_work() as uow:
            if await uow.jobs.finish(job, job.attempts):
                await uow.exports.update(export)
                # webhooks: queued with the export's end
                data = export_data(export, self.download_url(export))
                queued = await emit(self.deps, uow, job.team_id, WebhookEvent.EXPORT_READY, data)
                await outbox.commit(self.deps, uow, queued)
                return
        await self.deps.blobs.delete(key)
        raise LeaseLost  # a newer attempt owns the job

    async def _zip(
        self, export: Export, found: dict[int, Image], with_renditions: bool = False
    ) -> AsyncIterator[bytes]:
        sink = _Sink()
        rows: list[dict[str, object]] = []
        last_saved = time.monotonic()
        with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
            for done, image_id in enumerate(export.ids, start=1):
                image = found.get(image_id)
                if image is not None and exportable(image):
                    name = entry_name(image)
                    files = [(name, image.blob_key or "")]
                    row = manifest_row(image, name)
                    if with_renditions:
                        made = [(rendition_name(image, r), r) for r in renditions_of(image)]
                        files += [(n, r.key) for n, r in made]
                        row["renditions"] = [rendition_row(n, r) for n, r in made]
                    for file_name, key in files:
                        info = zip_entry(file_name, image.created_at)
                        with archive.open(info, "w", force_zip64=True) as entry:
                            async for chunk in self._read(image, key):
                                entry.write(chunk)
                                for data in sink.drain():
                                    yield data
                    rows.append(row)
                else:
                    export.skipped_ids.append(image_id)
                export.done = done
                if time.monotonic() - last_saved >= self.progress_every:
                    await self._save_progress(export)
                    last_saved = time.monotonic()
                for data in sink.drain():
                    yield data
            manifest = {
                "exported_at": iso_z(self.deps.clock.now()),
                "images": rows,
                "skipped_ids": export.skipped_ids,
            }
            archive.writestr(
                zip_entry("manifest.json", self.deps.clock.now()),
                json.dumps(manifest, indent=2, ensure_ascii=False),
            )
        for data in sink.drain():
            yield data

    async def _read(self, image: Image, key: str) -> AsyncIterator[bytes]:
        """A blob of ``image``; a missing one is ``Unavailable`` saying which (the job
        is retried, and reads the image again: one deleted meanwhile is skipped)."""
        try:
            async for chunk in self.deps.blobs.stream(key):
                yield chunk
        except NotFound:
            raise Unavailable(
                f"a file of image {image.id} is missing from the blob store"
            ) from None

    async def _save_progress(self, export: Export) -> None:
        async with self.deps.storage.unit_of_work() as uow:
            stored = await uow.exports.get_any(export.job_id)
            if stored is not None and stored.status is ExportStatus.RUNNING:
                stored.done = export.done
                await uow.exports.update(stored)
                await uow.commit()

    async def expire(self, now: datetime | None = None) -> int:
        """Delete the ZIPs of exports past their ``expires_at``; how many went."""
        now = now or self.deps.clock.now()
        async with self.deps.storage.unit_of_work() as uow:
            due = await uow.exports.expired(now)
            keys = [e.blob_key for e in due if e.blob_key]
            for export in due:
                export.blob_key = None
                await uow.exports.update(export)
            await uow.commit()
        for key in keys:
            await self.deps.blobs.delete(key)
        return len(due)


def zip_entry(name: str, when: datetime) -> zipfile.ZipInfo:
    """A stored entry dated ``when`` in UTC (ZIP keeps no zone; clamped to 1980, the
    format's first year), so unzipping shows each image's own creation time."""
    utc = when.astimezone(UTC)
    stamp = (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
    info = zipfile.ZipInfo(name, date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
    info.compress_type = zipfile.ZIP_STORED
    return info
