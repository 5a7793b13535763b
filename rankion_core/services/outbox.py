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
    """Queue one delivery per subscribed webhook, in ``uow``; how many were queued.

    A team holds at most ``max_pending_deliveries`` deliveries waiting: past that (a
    receiver far behind, or a team making changes only to fan them out) the event's
    deliveries are dropped, not stored, and a ``deliveries_dropped`` line is logged;
    storing a failed record for each would let free edits grow the database as fast
    as queueing them did. The change itself always goes through."""
    hooks = await uow.webhooks.subscribed(team_id, event.value)
    if not hooks:
        return 0
    limit = deps.max_pending_deliveries
    if limit > 0:
        waiting = await uow.jobs.count_active(team_id, [JobKind.WEBHOOK])
        if waiting + len(hooks) > limit:
            joblog.dropped(team_id, event.value, len(hooks), waiting, limit)
            return 0
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
