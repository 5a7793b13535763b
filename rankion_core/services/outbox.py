"""The webhook outbox: deliveries queued inside the unit of work that makes a change.

Kept apart from ``webhooks`` so the services that emit events (jobs, exports, the
calendar) import nothing of the delivery side.
"""

from __future__ import annotations

from typing import Any

from ..models import Job, JobKind, JobStatus
from ..ports import UnitOfWork
from ..rules.timeutil import iso_z
from ..webhooks import WebhookDelivery, WebhookEvent
from . import joblog
from .deps import Deps


async def emit(
    deps: Deps, uow: UnitOfWork, team_id: int, event: WebhookEvent, data: dict[str, Any]
) -> int:
    """Queue one delivery per subscribed webhook, in ``uow``; how many were queued."""
    hooks = await uow.webhooks.subscribed(team_id, event.value)
    now = deps.clock.now()
    for hook in hooks:
        payload = {
            "webhook_id": hook.id,
            "event": event.value,
            "occurred_at": iso_z(now),
            "data": data,
        }
        job = await uow.jobs.add(
            Job(
                id=0,
                team_id=team_id,
                kind=JobKind.WEBHOOK,
                status=JobStatus.QUEUED,
                created_at=now,
                payload=payload,
                max_attempts=deps.webhook_policy.max_attempts,
            )
        )
        delivery = WebhookDelivery(
            job_id=job.id, team_id=team_id, webhook_id=hook.id, event=event.value, created_at=now
        )
        await uow.webhooks.add_delivery(delivery)
        joblog.queued(job)  # in the transaction of the change it announces
    return len(hooks)
