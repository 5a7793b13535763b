"""Webhooks: the entities, the storage port and the sender port.

A ``Webhook`` is a team's subscription (a URL and the events it wants). Every event
that matches one becomes a ``WebhookDelivery`` and a job of kind ``webhook`` in the
same transaction as the change it reports, so a crash can lose neither. Each try of
a delivery is recorded in ``attempts``.

Sending is I/O: the core only knows the ``WebhookSender`` port; the server plugs in an
aiohttp implementation.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from attrs import define, field

__all__ = [
    "DeliveryStatus",
    "SendResult",
    "Webhook",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookRepository",
    "WebhookSender",
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


class WebhookRepository(Protocol):
    async def add(self, webhook: Webhook) -> Webhook: ...
    async def get(self, team_id: int, webhook_id: int) -> Webhook | None: ...
    async def list(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[Webhook], int]:
        """Oldest first."""
        ...

    async def delete(self, team_id: int, webhook_id: int) -> bool:
        """Remove the webhook and its deliveries; False when there was none."""
        ...

    async def subscribed(self, team_id: int, event: str) -> builtins.list[Webhook]:
        """The team's webhooks that listen to ``event``."""
        ...

    async def add_delivery(self, delivery: WebhookDelivery) -> WebhookDelivery: ...
    async def get_delivery(self, job_id: int) -> WebhookDelivery | None:
        """Worker side: a delivery of any team."""
        ...

    async def update_delivery(self, delivery: WebhookDelivery) -> None: ...
    async def deliveries(
        self, team_id: int, webhook_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[WebhookDelivery], int]:
        """Newest first."""
        ...


@define(frozen=True)
class SendResult:
    """What one try got: an HTTP status, or an error when there was no answer."""

    status_code: int | None
    error: str | None = None
    ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    """POSTs a signed body. Never raises for the target's failures: it reports them."""

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult: ...
    async def close(self) -> None: ...
