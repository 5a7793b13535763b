"""The webhook outbox: deliveries queued inside the unit of work that makes a change.

Kept apart from ``webhooks`` so the services that emit events (jobs, exports, the
calendar) import nothing of the delivery side.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..models import Job, JobKind, JobStatus
from ..ports import UnitOfWork
from ..rules.timeutil import iso_z
from ..webhooks import WebhookDelivery, WebhookEvent
from . import joblog
from .deps import Deps

T = TypeVar("T")


async def emit(
    deps: Deps, uow: UnitOfWork, team_id: int, event: WebhookEvent, data: dict[str, Any]
) -> int:
    """``emit_many`` of one event's ``data``."""
    return await emit_many(deps, uow, team_id, event, [data], _as_is)


def _as_is(data: dict[str, Any]) -> dict[str, Any]:
    return data


async def commit(deps: Deps, uow: UnitOfWork, queued: int) -> None:
    """Commit ``uow``; then, when it queued deliveries (``emit``'s count), wake this
    process's idle loops as a queued generation does (the others find them at their
    next poll). Woken before the commit, a loop could look before they are there."""
    await uow.commit()
    if queued:
        deps.notify_job()


async def emit_many(
    deps: Deps,
    uow: UnitOfWork,
    team_id: int,
    event: WebhookEvent,
    items: Sequence[T],
    render: Callable[[T], dict[str, Any]],
) -> int:
    """Queue one delivery per subscribed webhook for each of ``items`` (its data
    ``render(item)``, made only for what is queued: nothing without a webhook), in
    ``uow``; how many were queued.

    A team holds at most ``max_pending_deliveries`` deliveries waiting. Past that (a
    receiver far behind, or a team making changes only to fan them out) what does not
    fit is dropped, not stored, and a ``deliveries_dropped`` line is logged; what fits
    is queued, events in order and each event's webhooks by id. Storing a failed record
    for each would let free edits grow the database as fast as queueing them did. The
    waiting deliveries are counted under the team's row lock (charging nothing), so a
    team's concurrent changes are counted one after another on every backend. The
    change itself always goes through."""
    hooks = await uow.webhooks.subscribed(team_id, event.value) if items else []
    if not hooks:
        return 0
    wanted = room = len(hooks) * len(items)
    limit = deps.max_pending_deliveries
    if limit > 0:
        await uow.teams.charge(team_id, 0)  # the team's row, locked until the commit
        waiting = await uow.jobs.count_active(team_id, [JobKind.WEBHOOK])
        room = max(0, min(wanted, limit - waiting))
        if room < wanted:
            joblog.dropped(team_id, event.value, wanted - room, waiting, limit)
    now = deps.clock.now()
    fits = items[: -(-room // len(hooks))]  # the items any of whose deliveries fit
    pairs = ((render(item), hook) for item in fits for hook in hooks)
    for data, hook in itertools.islice(pairs, room):
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
    return room
