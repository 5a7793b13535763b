"""The webhook outbox: deliveries queued inside the unit of work that makes a change.

Kept apart from ``webhooks`` so the services that emit events (jobs, exports, the
calendar) import nothing of the delivery side.
"""

from __future__ import annotations

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
    unsent = await _past_cap(deps, uow, team_id, len(hooks))
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
                status=JobStatus.FAILED if unsent else JobStatus.QUEUED,
                created_at=now,
                payload=payload,
                max_attempts=deps.webhook_policy.max_attempts,
                error=unsent,
                finished_at=now if unsent else None,
            )
        )
        delivery = WebhookDelivery(
            job_id=job.id, team_id=team_id, webhook_id=hook.id, event=event.value, created_at=now
        )
        if unsent:  # ended before its first try: the delivery log says why
            delivery.status, delivery.finished_at = DeliveryStatus.FAILED, now
            delivery.attempts = [
                {"attempt": 0, "at": iso_z(now), "status_code": None, "error": unsent, "ms": 0}
            ]
        await uow.webhooks.add_delivery(delivery)
        if not unsent:
            joblog.queued(job)  # in the transaction of the change it announces
    return 0 if unsent else len(hooks)


async def _past_cap(deps: Deps, uow: UnitOfWork, team_id: int, adding: int) -> str | None:
    """Why ``adding`` more deliveries are not sent, or None when the team has room."""
    limit = deps.max_pending_deliveries
    if limit <= 0:
        return None
    waiting = await uow.jobs.count_active(team_id, [JobKind.WEBHOOK])
    if waiting + adding <= limit:
        return None
    return f"not sent: the team already has {waiting} deliveries waiting (limit {limit})"
