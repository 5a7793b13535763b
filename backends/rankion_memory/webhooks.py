"""The webhook repository in memory (subscriptions and their deliveries)."""

from __future__ import annotations

import builtins

from rankion_core.webhooks import Webhook, WebhookDelivery

from .tables import Table, clone

__all__ = ["MemoryWebhooks"]


class MemoryWebhooks:
    def __init__(self, hooks: Table[Webhook], deliveries: Table[WebhookDelivery]) -> None:
        self.hooks = hooks
        self.sent = deliveries

    async def add(self, webhook: Webhook) -> Webhook:
        webhook.id = self.hooks.new_id()
        self.hooks.put(webhook.id, webhook)
        return webhook

    async def get(self, team_id: int, webhook_id: int) -> Webhook | None:
        hook = self.hooks.get(webhook_id)
        return hook if hook is not None and hook.team_id == team_id else None

    async def list(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[Webhook], int]:
        rows = sorted((h for h in self.hooks.rows() if h.team_id == team_id), key=lambda h: h.id)
        start = (page - 1) * per_page
        return [clone(h) for h in rows[start : start + per_page]], len(rows)

    async def delete(self, team_id: int, webhook_id: int) -> bool:
        if await self.get(team_id, webhook_id) is None:
            return False
        for delivery in self.sent.rows():
            if delivery.webhook_id == webhook_id:
                self.sent.remove(delivery.job_id)
        return self.hooks.remove(webhook_id)

    async def subscribed(self, team_id: int, event: str) -> builtins.list[Webhook]:
        rows = (h for h in self.hooks.rows() if h.team_id == team_id and event in h.events)
        return [clone(h) for h in sorted(rows, key=lambda h: h.id)]

    async def add_delivery(self, delivery: WebhookDelivery) -> WebhookDelivery:
        self.sent.put(delivery.job_id, delivery)
        return delivery

    async def get_delivery(self, job_id: int) -> WebhookDelivery | None:
        return self.sent.get(job_id)

    async def update_delivery(self, delivery: WebhookDelivery) -> None:
        if self.sent.peek(delivery.job_id) is not None:
            self.sent.put(delivery.job_id, delivery)

    async def deliveries(
        self, team_id: int, webhook_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[WebhookDelivery], int]:
        rows = sorted(
            (d for d in self.sent.rows() if d.team_id == team_id and d.webhook_id == webhook_id),
            key=lambda d: -d.job_id,
        )
        start = (page - 1) * per_page
        return [clone(d) for d in rows[start : start + per_page]], len(rows)
