"""Webhooks: subscriptions, the outbox of deliveries, and the delivery job.

``emit`` is called by the other services inside the unit of work that makes the
change (an image ready or failed, an export ready, a calendar event changed): the
delivery and its job are committed with the change or not at all. The job handler
signs the body, sends it through the ``WebhookSender`` port, records the attempt and
either ends the job or puts it back with the policy's backoff (fenced, like every job).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from ..errors import NotFound
from ..models import Actor, Job, JobKind, JobStatus, Page
from ..ports import SendResult, UnitOfWork
from ..rules import webhooks as rules
from ..rules.limits import check_cap
from ..rules.text import check_length
from ..rules.timeutil import iso_z
from ..webhooks import DeliveryStatus, Webhook, WebhookDelivery
from . import joblog
from .deps import Deps
from .jobs import Jobs, LeaseLost, PermanentFailure
from .outbox import emit

__all__ = ["Webhooks", "emit"]


class Webhooks:
    def __init__(self, deps: Deps, jobs: Jobs) -> None:
        self.deps = deps
        jobs.register(JobKind.WEBHOOK, self.deliver)

    # ------------------------------------------------------------------ API side

    async def create(
        self, actor: Actor, url: str, events: list[str], description: str | None = None
    ) -> Webhook:
        """The new webhook, its ``secret`` included (shown to the caller this once)."""
        if description is not None:
            check_length("description", description, low=0, high=rules.DESCRIPTION_MAX)
        hook = Webhook(
            id=0,
            team_id=actor.team_id,
            url=rules.check_url(url, allow_private=self.deps.webhook_policy.allow_private),
            events=rules.check_events(events),
            secret=rules.new_secret(),
            created_at=self.deps.clock.now(),
            description=description,
        )
        async with self.deps.storage.unit_of_work() as uow:
            await self._check_count(uow, actor.team_id)
            await uow.webhooks.add(hook)
            await uow.commit()
        return hook

    async def _check_count(self, uow: UnitOfWork, team_id: int) -> None:
        """At most ``max_webhooks`` per team. Charging nothing locks the team's row
        until the commit, so a team's concurrent requests are counted one at a time."""
        limit = self.deps.max_webhooks
        if limit <= 0:
            return
        await uow.teams.charge(team_id, 0)
        _first, total = await uow.webhooks.list(team_id, 1, 1)
        check_cap("webhooks", total, limit)

    async def get(self, actor: Actor, webhook_id: int) -> Webhook:
        async with self.deps.storage.unit_of_work() as uow:
            hook = await uow.webhooks.get(actor.team_id, webhook_id)
        if hook is None:
            raise NotFound("webhook")
        return hook

    async def list(self, actor: Actor, page: int, per_page: int) -> Page[Webhook]:
        async with self.deps.storage.unit_of_work() as uow:
            items, total = await uow.webhooks.list(actor.team_id, page, per_page)
        return Page(items, page, per_page, total)

    async def delete(self, actor: Actor, webhook_id: int) -> None:
        async with self.deps.storage.unit_of_work() as uow:
            if not await uow.webhooks.delete(actor.team_id, webhook_id):
                raise NotFound("webhook")
            await uow.commit()

    async def deliveries(
        self, actor: Actor, webhook_id: int, page: int, per_page: int
    ) -> Page[WebhookDelivery]:
        async with self.deps.storage.unit_of_work() as uow:
            if await uow.webhooks.get(actor.team_id, webhook_id) is None:
                raise NotFound("webhook")
            items, total = await uow.webhooks.deliveries(actor.team_id, webhook_id, page, per_page)
        return Page(items, page, per_page, total)

    # ------------------------------------------------------------------ worker side

    async def deliver(self, job: Job) -> None:
        """The job handler: one signed POST, recorded, then done or retried later."""
        sender = self.deps.webhook_sender
        if sender is None:
            raise PermanentFailure("no webhook sender is configured")
        async with self.deps.storage.unit_of_work() as uow:
            hook = await uow.webhooks.get(job.team_id, int(job.payload["webhook_id"]))
        if hook is None:
            raise PermanentFailure("the webhook was deleted")
        event = str(job.payload["event"])
        data = rules.body(job.id, event, str(job.payload["occurred_at"]), job.payload["data"])
        now = self.deps.clock.now()
        headers = rules.signed_headers(hook.secret, event, job.id, data, int(now.timestamp()))
        result = await sender.send(hook.url, data, headers)
        await self._record(job, result, now)

    async def _record(self, job: Job, result: SendResult, sent_at: datetime) -> None:
        attempt = job.attempts
        now = self.deps.clock.now()
        policy = self.deps.webhook_policy
        async with self.deps.storage.unit_of_work() as uow:
            delivery = await uow.webhooks.get_delivery(job.id)
            if delivery is None:
                raise PermanentFailure("the delivery was deleted")
            delivery.attempts.append(_attempt(attempt, sent_at, result))
            delay: timedelta | None = None
            if result.ok or attempt >= job.max_attempts:
                held = await self._end(uow, job, delivery, result, now)
            else:
                delay = policy.delay(attempt, random.random())
                delivery.next_attempt_at = now + delay
                held = await uow.jobs.release(job.id, attempt, now + delay, _error(result))
            if not held:
                raise LeaseLost  # a newer attempt owns the delivery
            await uow.webhooks.update_delivery(delivery)
            await uow.commit()
        if delay is not None:
            joblog.retried(job, _error(result), delay)

    async def _end(
        self,
        uow: UnitOfWork,
        job: Job,
        delivery: WebhookDelivery,
        result: SendResult,
        now: datetime,
    ) -> bool:
        job.finished_at, job.result = now, {"status_code": result.status_code}
        if result.ok:
            job.status, delivery.status = JobStatus.SUCCEEDED, DeliveryStatus.SUCCEEDED
        else:
            job.status, delivery.status = JobStatus.FAILED, DeliveryStatus.FAILED
            job.error = _error(result)
        delivery.finished_at, delivery.next_attempt_at = now, None
        return await uow.jobs.finish(job, job.attempts)


def _error(result: SendResult) -> str:
    if result.error:
        return result.error
    return f"the endpoint answered {result.status_code}"


def _attempt(attempt: int, at: datetime, result: SendResult) -> dict[str, Any]:
    return {
        "attempt": attempt,
        "at": iso_z(at),
        "status_code": result.status_code,
        "error": None if result.ok else _error(result),
        "ms": round(result.ms, 1),
    }
