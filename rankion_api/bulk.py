"""Bulk trash operations and exports."""

from __future__ import annotations

from datetime import datetime

from attrs import define, field

from rankion_core.models import ExportStatus
from rankion_core.rules.limits import BULK_MAX, EXPORT_MAX

from .common import doc, too_many


def _ids(limit: int) -> dict[str, object]:
    return {
        **doc(
            f"1..{limit} image ids; more is 422 bulk_limit_exceeded",
            minItems=1,
            maxItems=limit,
            items={"type": "integer", "minimum": 1},
        ),
        **too_many("bulk_limit_exceeded"),
    }


@define(frozen=True)
class BulkIdsBody:
    ids: list[int] = field(metadata=_ids(BULK_MAX))


@define(frozen=True)
class ExportBody:
    ids: list[int] = field(metadata=_ids(EXPORT_MAX))


@define(frozen=True)
class BulkDeleteOut:
    deleted: list[int]
    already_in_trash: list[int]
    not_found: list[int]


@define(frozen=True)
class BulkRestoreOut:
    restored: list[int]
    not_in_trash: list[int]
    not_found: list[int]


@define(frozen=True)
class ExportStartedOut:
    job_id: int
    status: ExportStatus


@define(frozen=True)
class ProgressOut:
    done: int
    total: int


@define(frozen=True)
class ExportOut:
    job_id: int
    status: ExportStatus
    progress: ProgressOut
    download_url: str | None = field(metadata=doc("signed; set while the ZIP is ready"))
    expires_at: datetime | None
    size_bytes: int | None
    error: str | None
    skipped_ids: list[int]
