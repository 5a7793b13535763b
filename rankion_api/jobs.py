"""Background jobs and chat sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attrs import define, field

from rankion_core.models import JobKind, JobStatus

from .common import doc


@define(frozen=True)
class JobOut:
    id: int
    kind: JobKind
    status: JobStatus
    attempts: int
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    result: dict[str, Any] | None = field(
        metadata=doc("generate/edit: {image_id}; export: {size_bytes, skipped_ids}")
    )


@define(frozen=True)
class ChatSessionOut:
    session_id: int
    gallery_image_id: int
    created_at: datetime


@define(frozen=True)
class HealthOut:
    status: str


@define(frozen=True)
class ReadyOut:
    status: str
    checks: dict[str, str]
