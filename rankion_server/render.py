"""From what the services hand back to the response shapes of ``rankion_api``."""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import tzinfo
from typing import Any

import attrs

from rankion_api.accounts import LedgerEntryOut, ProjectOut, TokenOut
from rankion_api.bulk import ExportOut, ProgressOut
from rankion_api.calendar import DayOut, EventOut
from rankion_api.creation import ModelOut
from rankion_api.images import ImageOut, ParentOut, VariantOut
from rankion_api.jobs import ChatSessionOut, JobOut
from rankion_api.shares import ShareOut
from rankion_core.models import (
    CalendarEvent,
    ChatSession,
    Image,
    Job,
    LedgerEntry,
    Project,
    Share,
)
from rankion_core.ports import ModelCapabilities
from rankion_core.rules import renditions
from rankion_core.rules.calendar import DayCount, event_fields
from rankion_core.rules.similar import phash_hex
from rankion_core.services import (
    ExportView,
    ImageDetail,
    ImageView,
    RenditionView,
    ShareView,
    SimilarView,
    TokenView,
    VariantView,
)

# --------------------------------------------------------------------------- image rows
#
# The gallery's hot path (a 50-row page, an image with its variant tree) renders
# straight to plain dicts that ``responses.page``/``ok`` hand to orjson with
# ``plain=True``: no ``ImageOut`` objects, no cattrs pass, datetimes and enums left to
# orjson (entity times are timezone-aware UTC, ``rules.timeutil``, which orjson writes
# as ``iso_z`` does under ``OPT_UTC_Z``).
#
# The schema classes are the one definition of these answers: each row has the
# schema's fields as keys, in its order, read at import. Every field is the entity's
# attribute of the same name (read in one ``attrgetter`` call) except the few the view
# holds (``from_view``: URLs, the share, the depth), which the functions below set;
# a schema field that is neither fails the import. tests/api/test_render_fast.py
# round-trips rows through the strict converter into the schema class and back to
# the same bytes.


def counted(n: int, noun: str) -> str:
    """``1 image``, ``2 images``: a count and its noun (one that takes an ``s``), in the
    web app's pages and the CLI's notes; ``counted`` in ``static/api.js`` writes the
    counts a script changes the same way."""
    return f"{n} {noun if n == 1 else noun + 's'}"


def _row(schema: type, entity: type, from_view: tuple[str, ...]) -> Callable[[Any], dict[str, Any]]:
    """``schema``'s fields in order: the entity's, and ``from_view`` left to the caller."""
    keys = tuple(f.name for f in attrs.fields(schema))
    known = attrs.fields_dict(entity)
    for name in keys:
        if name not in known and name not in from_view:
            where = f"{schema.__name__}.{name}"
            raise TypeError(f"{where} is neither on {entity.__name__} nor in from_view")
    if not set(from_view) <= set(keys):
        raise TypeError(f"{schema.__name__} has no field {set(from_view) - set(keys)}")
    blank = dict.fromkeys(keys)
    names = tuple(name for name in keys if name not in from_view)
    values = operator.attrgetter(*names)

    def row(of: Any) -> dict[str, Any]:
        out = blank.copy()
        out.update(zip(names, values(of)))  # noqa: B905 (the same length, by construction)
        return out

    return row


_SHARE = _row(ShareOut, Share, ("public_url",))
_IMAGE = _row(ImageOut, Image, ("url", "thumbnail_url", "share"))
_PARENT = _row(ParentOut, Image, ("url", "thumbnail_url"))
_VARIANT = _row(VariantOut, Image, ("depth", "url", "thumbnail_url"))


def share_row(view: ShareView) -> dict[str, Any]:
    """``ShareOut`` as plain data."""
    row = _SHARE(view.share)
    row["public_url"] = view.public_url
    return row


def share(view: ShareView) -> ShareOut:
    return ShareOut(**share_row(view))


def image_row(view: ImageView) -> dict[str, Any]:
    """``ImageOut`` as plain data (``page(..., plain=True)``, ``ok(..., plain=True)``)."""
    row = _IMAGE(view.image)
    row["url"] = view.url
    row["thumbnail_url"] = view.thumbnail_url
    if view.share is not None:
        row["share"] = share_row(view.share)
    return row


def similar_row(found: SimilarView) -> dict[str, Any]:
    """``SimilarImageOut`` as plain data: the image's fields, then ``distance``."""
    row = image_row(found.view)
    row["distance"] = found.distance
    return row


def parent_row(view: ImageView) -> dict[str, Any]:
    """``ParentOut`` as plain data."""
    row = _PARENT(view.image)
    row["url"] = view.url
    row["thumbnail_url"] = view.thumbnail_url
    return row


def variant_row(variant: VariantView) -> dict[str, Any]:
    """``VariantOut`` as plain data."""
    view = variant.view
    row = _VARIANT(view.image)
    row["depth"] = variant.depth
    row["url"] = view.url
    row["thumbnail_url"] = view.thumbnail_url
    return row


def image_detail_row(detail: ImageDetail) -> dict[str, Any]:
    """``ImageDetailOut`` as plain data: the image's fields, then variants and parents."""
    row = image_row(detail.view)
    row["variants"] = [variant_row(v) for v in detail.variants]
    row["parents"] = [parent_row(p) for p in detail.parents]
    image = detail.view.image
    row["phash"] = phash_hex(image.phash) if image.phash is not None else None
    row["renditions"] = [rendition_row(r) for r in detail.renditions]
    row["srcset"] = srcset(detail.renditions)
    return row


def rendition_row(view: RenditionView) -> dict[str, Any]:
    """``RenditionOut`` as plain data."""
    r = view.rendition
    return {
        "format": r.format,
        "width": r.width,
        "height": r.height,
        "bytes": r.bytes,
        "url": view.url,
    }


def srcset(views: list[RenditionView]) -> dict[str, str]:
    """Per format, ``"url 256w, url 512w"`` (the formats with renditions only)."""
    urls = {v.rendition.key: v.url for v in views}
    return renditions.srcset([v.rendition for v in views], urls.__getitem__)


def event(e: CalendarEvent, zone: tzinfo) -> EventOut:
    """``zone``: the project's, for ``scheduled_local``. The fields are the core's
    (``event_fields``), which a ``calendar.event.changed`` delivery carries too."""
    return EventOut(**event_fields(e, zone))


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


def model(capabilities: ModelCapabilities, default_model: str) -> ModelOut:
    """One model's declared capabilities (its fields, by name), and whether it is the default."""
    declared = attrs.asdict(capabilities)
    return ModelOut(**declared, default=capabilities.id == default_model)
