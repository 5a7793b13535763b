"""Webhooks: the entities (their storage and sender ports are in ``ports``).

A ``Webhook`` is a team's subscription (a URL and the events it wants). Every event
that matches one becomes a ``WebhookDelivery`` and a job of kind ``webhook`` in the
same transaction as the change it reports, so a crash can lose neither. Each try of
a delivery is recorded in ``attempts``.

Sending is I/O: the core only knows the ``WebhookSender`` port (``rankion_core.ports``);
the server plugs in an aiohttp implementation.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from attrs import define, field

__all__ = [
    "DeliveryStatus",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
]


class WebhookEvent(StrEnum):
    IMAGE_READY = "image.ready"
    IMAGE_FAILED = "image.failed"
    EXPORT_READY = "export.ready"
    CALENDAR_EVENT_CHANGED = "calendar.event.changed"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@define
class Webhook:
    id: int
    team_id: int
    url: str
    events: list[str]
    secret: str = field(repr=False)
    created_at: datetime
    description: str | None = None


@define
class WebhookDelivery:
    """One event for one webhook; ``job_id`` (its job) is its public id.

    ``attempts`` holds one dict per try: ``{attempt, at, status_code, error, ms}``.
    """

    job_id: int
    team_id: int
    webhook_id: int
    event: str
    created_at: datetime
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: list[dict[str, Any]] = field(factory=list)
    next_attempt_at: datetime | None = None
    finished_at: datetime | None = None
