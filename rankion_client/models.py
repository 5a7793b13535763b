"""The typed shapes of requests and answers.

They are the classes of ``rankion_api`` (which import only attrs and the core):
one source for the server's validation, its OpenAPI document and this client.
``Page`` wraps a list answer.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from attrs import define

from rankion_api.accounts import (
    BalanceOut,
    CreateProjectBody,
    LedgerEntryOut,
    ProjectOut,
    TokenOut,
)
from rankion_api.bulk import (
    BulkDeleteOut,
    BulkRestoreOut,
    ExportOut,
    ExportStartedOut,
    ProgressOut,
)
from rankion_api.calendar import CreateEventBody, EventOut, ShiftBody, ShiftOut, UpdateEventBody
from rankion_api.common import UNSET, MetaOut, Unset
from rankion_api.creation import (
    EditImageBody,
    EditQueuedOut,
    GenerateImageBody,
    ModelOut,
    QueuedImageOut,
    QueuedOut,
)
from rankion_api.images import (
    FavoriteOut,
    ImageDetailOut,
    ImageOut,
    PatchImageBody,
    RenditionOut,
    SimilarImageOut,
    TrashedOut,
)
from rankion_api.jobs import ChatSessionOut, HealthOut, JobOut
from rankion_api.shares import ShareBody, ShareExpiryBody, ShareOut
from rankion_api.webhooks import (
    CreateWebhookBody,
    DeliveryOut,
    JobEventOut,
    WebhookCreatedOut,
    WebhookOut,
)
from rankion_core.models import (
    EventStatus,
    EventType,
    ExportStatus,
    JobKind,
    JobStatus,
    ProcessingStatus,
)
from rankion_core.webhooks import DeliveryStatus, WebhookEvent

__all__ = [
    "UNSET",
    "BalanceOut",
    "BulkDeleteOut",
    "BulkRestoreOut",
    "ChatSessionOut",
    "CreateEventBody",
    "CreateProjectBody",
    "CreateWebhookBody",
    "DeliveryOut",
    "DeliveryStatus",
    "EditImageBody",
    "EditQueuedOut",
    "EventOut",
    "EventStatus",
    "EventType",
    "ExportOut",
    "ExportStartedOut",
    "ExportStatus",
    "FavoriteOut",
    "GenerateImageBody",
    "HealthOut",
    "ImageDetailOut",
    "ImageOut",
    "JobEventOut",
    "JobKind",
    "JobOut",
    "JobStatus",
    "LedgerEntryOut",
    "MetaOut",
    "ModelOut",
    "Page",
    "PatchImageBody",
    "ProcessingStatus",
    "ProgressOut",
    "ProjectOut",
    "QueuedImageOut",
    "QueuedOut",
    "RenditionOut",
    "ShareBody",
    "ShareExpiryBody",
    "ShareOut",
    "ShiftBody",
    "ShiftOut",
    "SimilarImageOut",
    "TokenOut",
    "TrashedOut",
    "Unset",
    "UpdateEventBody",
    "WebhookCreatedOut",
    "WebhookEvent",
    "WebhookOut",
]

T = TypeVar("T")


@define(frozen=True)
class Page(Generic[T]):
    """One page of a list answer."""

    items: list[T]
    meta: MetaOut

    @property
    def has_next(self) -> bool:
        if self.meta.page < self.meta.last_page:
            return True
        # a lower-bound total: a full page may have more behind it
        return not self.meta.total_exact and len(self.items) == self.meta.per_page
