"""Webhooks, their deliveries, and the events of a job's live stream."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from attrs import define, field

from rankion_core.models import JobKind, JobStatus
from rankion_core.outbound import HTTP_URL_PATTERN
from rankion_core.rules.webhooks import DESCRIPTION_MAX, URL_MAX
from rankion_core.webhooks import DeliveryStatus, WebhookEvent

from .bulk import ProgressOut
from .common import doc

EVENTS_DOC = doc(
    "what to be told about",
    minItems=1,
    maxItems=len(WebhookEvent),
    items={"type": "string", "enum": [e.value for e in WebhookEvent]},
)


@define(frozen=True)
class CreateWebhookBody:
    url: str = field(
        metadata=doc(
            "http(s), no credentials; a host that is a private, loopback or link-local address"
            " in any spelling (after IDNA normalisation), or localhost, is refused",
            maxLength=URL_MAX,
            pattern=HTTP_URL_PATTERN,
        )
    )
    events: list[str] = field(metadata=EVENTS_DOC)
    description: str | None = field(default=None, metadata=doc(maxLength=DESCRIPTION_MAX))


@define(frozen=True)
class WebhookOut:
    id: int
    url: str
    events: list[str]
    description: str | None
    created_at: datetime


@define(frozen=True)
class WebhookCreatedOut(WebhookOut):
    secret: str = field(
        metadata=doc("signs every delivery (Rankion-Signature); shown this once only")
    )


@define(frozen=True)
class DeliveryAttemptOut:
    attempt: int
    at: datetime
    status_code: int | None = field(metadata=doc("null when no answer came"))
    error: str | None
    ms: float


@define(frozen=True)
class DeliveryOut:
    id: int = field(metadata=doc("the delivery's job id (also sent as Rankion-Delivery)"))
    webhook_id: int
    event: str
    status: DeliveryStatus
    attempts: list[DeliveryAttemptOut]
    created_at: datetime
    next_attempt_at: datetime | None
    finished_at: datetime | None


@define(frozen=True)
class PreviewEventOut:
    """The ``data`` of one ``preview`` event of ``GET /v1/jobs/{id}/events``."""

    index: int = field(metadata=doc("the preview's place, from 0, as the provider sent it"))
    url: str = field(
        metadata=doc("a signed link (5 minutes) to the partial image; gone when the job ends")
    )


@define(frozen=True)
class JobEventOut:
    """The ``data`` of one ``job`` event of ``GET /v1/jobs/{id}/events``."""

    id: int
    kind: JobKind
    status: JobStatus
    attempts: int
    error: str | None
    progress: ProgressOut | None = field(metadata=doc("exports only: ids processed so far"))
    result: dict[str, Any] | None
    finished_at: datetime | None
