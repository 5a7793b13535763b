"""The nouns of the contract as plain attrs classes.

They know nothing of SQL or JSON: plain slotted classes, equal when their values are.
Ids are assigned by storage: ``0`` means "not stored yet".
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from attrs import define, field

__all__ = [
    "ACTIVE_JOB_STATUSES",
    "DRAWN_LATER",
    "Actor",
    "ApiToken",
    "CalendarEvent",
    "CalendarFeed",
    "ChatSession",
    "EditSession",
    "EventStatus",
    "EventType",
    "Export",
    "ExportStatus",
    "IdempotencyRecord",
    "Image",
    "ImageSort",
    "Job",
    "JobKind",
    "JobStatus",
    "LedgerEntry",
    "Page",
    "ProcessingStatus",
    "Project",
    "Share",
    "Team",
    "User",
]


class EventType(StrEnum):
    ARTICLE = "article"
    SOCIAL_POST = "social_post"
    NEWSLETTER = "newsletter"
    VIDEO = "video"
    PODCAST = "podcast"
    OTHER = "other"


class EventStatus(StrEnum):
    IDEA = "idea"
    PLANNED = "planned"
    SCHEDULED = "scheduled"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class ProcessingStatus(StrEnum):
    QUEUED = "queued"
    PROCESSING = "processing"
    READY = "ready"
    FAILED = "failed"


#: an image a job is still drawing
DRAWN_LATER = (ProcessingStatus.QUEUED, ProcessingStatus.PROCESSING)


class ImageSort(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    EDITED = "edited"


class JobKind(StrEnum):
    GENERATE = "generate"
    EDIT = "edit"
    EXPORT = "export"
    WEBHOOK = "webhook"


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


#: a job that has not ended: what the queue holds and the per-team limit counts
ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class ExportStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"

    @classmethod
    def of_job(cls, status: JobStatus) -> ExportStatus:
        """An export's status is its job's (``succeeded`` reads ``ready``): queued again
        while the job waits for a retry."""
        return cls.READY if status is JobStatus.SUCCEEDED else cls(status.value)


@define(frozen=True)
class Actor:
    """Who is calling: every service call is scoped to ``team_id``.

    A caller authenticated by a bearer token also carries that token's id and its
    ``expires_at`` (None: it never expires), so a cache of callers can honour both.
    """

    team_id: int
    user_id: int | None = None
    token_id: int | None = None
    expires_at: datetime | None = None


@define
class Team:
    id: int
    name: str
    credits: int
    created_at: datetime


@define
class User:
    id: int
    team_id: int
    name: str
    created_at: datetime


@define
class ApiToken:
    """A bearer token, stored as ``prefix`` (non-secret, for lookup) and a digest.

    ``expires_at`` None: valid until revoked (revoking deletes the row).
    ``last_used_at`` is kept to the minute, not written on every request.
    """

    id: int
    team_id: int
    user_id: int
    prefix: str
    digest: str
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None


@define
class Project:
    id: int
    team_id: int
    name: str
    created_at: datetime
    #: an IANA zone name: the calendar's local days and wall-clock times
    time_zone: str = "UTC"


@define
class CalendarEvent:
    id: int
    team_id: int
    project_id: int
    title: str
    type: EventType
    status: EventStatus
    scheduled_at: datetime | None
    article_id: int | None
    notes: str | None
    created_at: datetime
    updated_at: datetime


@define
class CalendarFeed:
    """A project's iCalendar feed token, kept as a SHA-256 ``digest`` (one per project;
    issuing a new one replaces it)."""

    project_id: int
    team_id: int
    digest: str
    created_at: datetime


@define
class Image:
    id: int
    team_id: int
    prompt: str
    model: str
    size: str
    quality: str
    created_at: datetime
    updated_at: datetime
    project_id: int | None = None
    article_id: int | None = None
    slot: str | None = None
    title: str | None = None
    background: str | None = None
    output_format: str = "png"
    tags: list[str] = field(factory=list)
    is_favorite: bool = False
    processing_status: ProcessingStatus = ProcessingStatus.QUEUED
    error: str | None = None
    blob_key: str | None = None
    thumbnail_key: str | None = None
    width: int | None = None
    height: int | None = None
    mime_type: str | None = None
    bytes: int | None = None
    parent_id: int | None = None
    root_id: int | None = None
    edit_session_id: int | None = None
    credits_charged: int = 0
    share_views: int = 0
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    purge_at: datetime | None = None
    #: the ThumbHash placeholder, base64 (``rules.renditions``); None until ready
    placeholder: str | None = None
    #: the 64-bit perceptual hash as a signed 64-bit integer (how SQL keeps it);
    #: ``rules.similar.phash_hex`` writes it as 16 hex digits
    phash: int | None = None
    #: the original without its metadata, when it had some (shares serve this)
    public_key: str | None = None
    #: ``[{format, width, height, bytes, key}]`` (``rules.renditions.Rendition`` as data)
    renditions: list[dict[str, Any]] = field(factory=list)

    @property
    def public_blob_key(self) -> str | None:
        """What leaves through a share: the clean copy, or the original when it had no
        metadata to remove."""
        return self.public_key or self.blob_key

    @property
    def tree_root(self) -> int:
        return self.root_id if self.root_id is not None else self.id


@define
class EditSession:
    """A run of edits inside one variant tree (``root_id``)."""

    id: int
    team_id: int
    root_id: int
    created_at: datetime


@define
class Job:
    """A unit of background work; the job row is the outbox and the queue.

    ``attempts`` counts claims and doubles as the fencing token: a worker may only
    finish the job while ``attempts`` still equals the value it claimed it with.
    """

    id: int
    team_id: int
    kind: JobKind
    status: JobStatus
    created_at: datetime
    payload: dict[str, Any] = field(factory=dict)
    attempts: int = 0
    max_attempts: int = 3
    run_after: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    error: str | None = None
    result: dict[str, Any] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: its place in its lane's fair queue (``rules.fairness``), set by storage
    turn: int = 0


@define
class Share:
    id: int
    team_id: int
    image_id: int
    token: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    view_count: int = 0


@define
class ChatSession:
    id: int
    team_id: int
    gallery_image_id: int
    created_at: datetime
    user_id: int | None = None


@define
class Export:
    """The state of a bulk export; ``job_id`` is its public id."""

    job_id: int
    team_id: int
    ids: list[int]
    status: ExportStatus
    created_at: datetime
    done: int = 0
    total: int = 0
    blob_key: str | None = None
    size_bytes: int | None = None
    expires_at: datetime | None = None
    error: str | None = None
    skipped_ids: list[int] = field(factory=list)


@define
class LedgerEntry:
    id: int
    team_id: int
    delta: int
    reason: str
    created_at: datetime
    image_id: int | None = None
    job_id: int | None = None


@define
class IdempotencyRecord:
    """The first answer to an ``Idempotency-Key``, replayed for 24 h."""

    team_id: int
    key: str
    fingerprint: str
    created_at: datetime
    completed: bool = False
    status: int | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(factory=dict)


T = TypeVar("T")


@define(frozen=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    per_page: int
    total: int
    #: False when ``total`` is a lower bound (counting stopped at a limit)
    total_exact: bool = True

    @property
    def last_page(self) -> int:
        return max(1, -(-self.total // self.per_page))
