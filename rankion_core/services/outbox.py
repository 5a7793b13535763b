"""The webhook outbox: deliveries queued inside the unit of work that makes a change.

Kept apart from ``webhooks`` so the services that emit events (jobs, exports, the
calendar) import nothing of the delivery side.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import Job, JobKind, JobStatus
from ..ports import UnitOfWork
from ..rules.timeutil import iso_z
from ..webhooks import DeliveryStatus, WebhookDelivery, WebhookEvent
from . import joblog
from .deps import Deps


async def emit(
    deps: Deps, uow: UnitOfWork, team_id: int, event: WebhookEvent, data: dict[str, Any]
) -> int:
    """Queue one delivery per subscribed webhook, in ``uow``; how many were queued.

    A team holds at most ``max_pending_deliveries`` deliveries waiting: past that (a
    receiver far behind, or a team making changes only to fan them out) the event's
    deliveries are recorded as failed at once, with the reason, and nothing is sent.
    The change itself always goes through."""
    hooks = await uow.webhooks.subscribed(team_id, event.value)
    if not hooks:
        return 0
    now = deps.clock.now()
    limit = deps.max_pending_deliveries
    if limit > 0:
        waiting = await uow.jobs.count_active(team_id, [JobKind.WEBHOOK])
        if waiting + len(hooks) > limit:
            reason = f"not sent: the team already has {waiting} deliveries waiting (limit {limit})"
            for hook in hooks:
                await _record_unsent(deps, uow, team_id, hook.id, event, now, reason)
            return 0
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


async def _record_unsent(
    deps: Deps,
    uow: UnitOfWork,
    team_id: int,
    webhook_id: int,
    event: WebhookEvent,
    now: datetime,
    reason: str,
) -> None:
    """A delivery that ends before its first try, failed with ``reason``: the webhook's
    delivery log shows the event was not sent, and why."""
    job = await uow.jobs.add(
        Job(
            id=0,
            team_id=team_id,
            kind=JobKind.WEBHOOK,
            status=JobStatus.FAILED,
            created_at=now,
            payload={"webhook_id": webhook_id, "event": event.value},
            max_attempts=deps.webhook_policy.max_attempts,
            error=reason,
            finished_at=now,
        )
    )
    attempt = {"attempt": 0, "at": iso_z(now), "status_code": None, "error": reason, "ms": 0}
    delivery = WebhookDelivery(
        job_id=job.id,
        team_id=team_id,
        webhook_id=webhook_id,
        event=event.value,
        created_at=now,
        status=DeliveryStatus.FAILED,
        attempts=[attempt],
        finished_at=now,
    )
    await uow.webhooks.add_delivery(delivery)
