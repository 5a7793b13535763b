"""From what the services hand back to the response shapes of ``rankion_api``."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from rankion_api.accounts import LedgerEntryOut, ProjectOut, TokenOut
from rankion_api.bulk import ExportOut, ProgressOut
from rankion_api.calendar import DayOut, EventOut
from rankion_api.jobs import ChatSessionOut, JobOut
from rankion_api.shares import ShareOut
from rankion_core.models import (
    CalendarEvent,
    ChatSession,
    Image,
    Job,
    LedgerEntry,
    Project,
)
from rankion_core.rules.calendar import DayCount, local_iso
from rankion_core.services import (
    ExportView,
    ImageDetail,
    ImageView,
    ShareView,
    TokenView,
    VariantView,
)


def share(view: ShareView) -> ShareOut:
    s = view.share
    return ShareOut(
        token=s.token,
        public_url=view.public_url,
        expires_at=s.expires_at,
        view_count=s.view_count,
        created_at=s.created_at,
    )


# --------------------------------------------------------------------------- image rows
#
# The gallery's hot path (a 50-row page, an image with its variant tree) renders
# straight to plain dicts that ``responses.page``/``ok`` hand to orjson with
# ``plain=True``: no ``ImageOut`` objects, no cattrs pass. The dicts carry exactly the
# fields of ``ImageOut``/``ShareOut``/``VariantOut``/``ParentOut``, in their order (the
# schemas still describe the answer in the OpenAPI document), with datetimes and enums
# left to orjson: entity times are timezone-aware UTC (``rules.timeutil``), which
# orjson writes as ``iso_z`` does under ``OPT_UTC_Z``. tests/api/test_render_fast.py
# checks both, key for key and byte for byte against the attrs + cattrs rendering.


def share_row(view: ShareView) -> dict[str, Any]:
    """``ShareOut`` as plain data."""
    s = view.share
    return {
        "token": s.token,
        "public_url": view.public_url,
        "expires_at": s.expires_at,
        "view_count": s.view_count,
        "created_at": s.created_at,
    }


def image_row(view: ImageView) -> dict[str, Any]:
    """``ImageOut`` as plain data (``page(..., plain=True)``, ``ok(..., plain=True)``)."""
    i = view.image
    shared = view.share
    return {
        "id": i.id,
        "team_id": i.team_id,
        "project_id": i.project_id,
        "article_id": i.article_id,
        "slot": i.slot,
        "title": i.title,
        "prompt": i.prompt,
        "model": i.model,
        "size": i.size,
        "quality": i.quality,
        "background": i.background,
        "output_format": i.output_format,
        "tags": list(i.tags),
        "is_favorite": i.is_favorite,
        "processing_status": i.processing_status,
        "error": i.error,
        "url": view.url,
        "thumbnail_url": view.thumbnail_url,
        "width": i.width,
        "height": i.height,
        "mime_type": i.mime_type,
        "bytes": i.bytes,
        "parent_id": i.parent_id,
        "root_id": i.root_id,
        "edit_session_id": i.edit_session_id,
        "credits_charged": i.credits_charged,
        "share": share_row(shared) if shared is not None else None,
        "share_views": i.share_views,
        "created_at": i.created_at,
        "updated_at": i.updated_at,
        "edited_at": i.edited_at,
        "deleted_at": i.deleted_at,
        "purge_at": i.purge_at,
    }


def parent_row(view: ImageView) -> dict[str, Any]:
    """``ParentOut`` as plain data."""
    i: Image = view.image
    return {
        "id": i.id,
        "parent_id": i.parent_id,
        "title": i.title,
        "prompt": i.prompt,
        "processing_status": i.processing_status,
        "url": view.url,
        "thumbnail_url": view.thumbnail_url,
        "created_at": i.created_at,
        "deleted_at": i.deleted_at,
    }


def variant_row(variant: VariantView) -> dict[str, Any]:
    """``VariantOut`` as plain data: ``ParentOut``'s fields with ``depth`` third, as in
    the schema (the keys already present keep their place when the rest is merged)."""
    i = variant.view.image
    return {
        "id": i.id,
        "parent_id": i.parent_id,
        "depth": variant.depth,
        **parent_row(variant.view),
    }


def image_detail_row(detail: ImageDetail) -> dict[str, Any]:
    """``ImageDetailOut`` as plain data: the image's fields, then variants and parents."""
    row = image_row(detail.view)
    row["variants"] = [variant_row(v) for v in detail.variants]
    row["parents"] = [parent_row(p) for p in detail.parents]
    return row


def event(e: CalendarEvent, zone: tzinfo) -> EventOut:
    """``zone``: the project's, for ``scheduled_local``."""
    return EventOut(
        id=e.id,
        project_id=e.project_id,
        title=e.title,
        type=e.type,
        status=e.status,
        scheduled_at=e.scheduled_at,
        scheduled_local=local_iso(e.scheduled_at, zone) if e.scheduled_at else None,
        article_id=e.article_id,
        notes=e.notes,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


def project(p: Project) -> ProjectOut:
    return ProjectOut(id=p.id, name=p.name, time_zone=p.time_zone, created_at=p.created_at)


def day(d: DayCount) -> DayOut:
    by_status = {status.value: n for status, n in d.by_status.items()}
    return DayOut(date=d.date, total=d.total, by_status=by_status)


def api_token(view: TokenView) -> TokenOut:
    t = view.token
    return TokenOut(
        id=t.id,
        prefix=t.prefix,
        user=view.user,
        created_at=t.created_at,
        last_used_at=t.last_used_at,
        expires_at=t.expires_at,
    )


def ledger_entry(e: LedgerEntry) -> LedgerEntryOut:
    return LedgerEntryOut(
        id=e.id,
        delta=e.delta,
        reason=e.reason,
        image_id=e.image_id,
        job_id=e.job_id,
        created_at=e.created_at,
    )


def _public_result(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """A job's result without storage internals (blob keys)."""
    if result is None:
        return None
    return {k: v for k, v in result.items() if not k.endswith("_key")}


def job(j: Job) -> JobOut:
    return JobOut(
        id=j.id,
        kind=j.kind,
        status=j.status,
        attempts=j.attempts,
        error=j.error,
        created_at=j.created_at,
        finished_at=j.finished_at,
        result=_public_result(j.result),
    )


def export(view: ExportView) -> ExportOut:
    e = view.export
    return ExportOut(
        job_id=e.job_id,
        status=e.status,
        progress=ProgressOut(done=e.done, total=e.total),
        download_url=view.download_url,
        expires_at=e.expires_at,
        size_bytes=e.size_bytes,
        error=e.error,
        skipped_ids=list(e.skipped_ids),
    )


def chat_session(s: ChatSession) -> ChatSessionOut:
    return ChatSessionOut(
        session_id=s.id, gallery_image_id=s.gallery_image_id, created_at=s.created_at
    )
