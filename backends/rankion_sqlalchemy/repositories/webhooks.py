"""Webhooks and their deliveries, with SQLAlchemy Core (the entities are not mapped)."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import Row, bindparam, delete, insert, select, update

from rankion_core.webhooks import DeliveryStatus, Webhook, WebhookDelivery

from ..tables import webhook_deliveries, webhooks
from .base import Repository

__all__ = ["WebhookRepo"]

_w = webhooks.c
_OF_TEAM = select(webhooks).where(_w.team_id == bindparam("team_id")).order_by(_w.id)
_d = webhook_deliveries.c


def _hook(row: Row[Any]) -> Webhook:
    return Webhook(**row._asdict())


def _delivery(row: Row[Any]) -> WebhookDelivery:
    values = row._asdict()
    values["status"] = DeliveryStatus(values["status"])
    values["attempts"] = list(values["attempts"] or [])
    return WebhookDelivery(**values)


def _delivery_values(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "job_id": delivery.job_id,
        "team_id": delivery.team_id,
        "webhook_id": delivery.webhook_id,
        "event": delivery.event,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "created_at": delivery.created_at,
        "next_attempt_at": delivery.next_attempt_at,
        "finished_at": delivery.finished_at,
    }


class WebhookRepo(Repository):
    async def add(self, webhook: Webhook) -> Webhook:
        values = {
            "team_id": webhook.team_id,
            "url": webhook.url,
            "events": list(webhook.events),
            "secret": webhook.secret,
            "description": webhook.description,
            "created_at": webhook.created_at,
        }
        stmt = insert(webhooks).values(values).returning(_w.id)
        webhook.id = int(await self.session.scalar(stmt) or 0)
        return webhook

    async def get(self, team_id: int, webhook_id: int) -> Webhook | None:
        stmt = select(webhooks).where(_w.team_id == team_id, _w.id == webhook_id)
        row = (await self.session.execute(stmt)).first()
        return _hook(row) if row is not None else None

    async def list(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[Webhook], int]:
        where = [_w.team_id == team_id]
        stmt = select(webhooks).where(*where).order_by(_w.id)
        rows = await self.session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
        return [_hook(r) for r in rows], await self._count(webhooks, where)

    async def delete(self, team_id: int, webhook_id: int) -> bool:
        if await self.get(team_id, webhook_id) is None:
            return False
        await self.session.execute(delete(webhook_deliveries).where(_d.webhook_id == webhook_id))
        # whether this call deleted it: of concurrent deletes, one (another found it gone)
        return await self._rowcount(delete(webhooks).where(_w.id == webhook_id)) > 0

    async def subscribed(self, team_id: int, event: str) -> builtins.list[Webhook]:
        hooks = [_hook(r) for r in await self.session.execute(_OF_TEAM, {"team_id": team_id})]
        return [h for h in hooks if event in h.events]

    async def add_delivery(self, delivery: WebhookDelivery) -> WebhookDelivery:
        await self.session.execute(insert(webhook_deliveries).values(_delivery_values(delivery)))
        return delivery

    async def get_delivery(self, job_id: int) -> WebhookDelivery | None:
        stmt = select(webhook_deliveries).where(_d.job_id == job_id)
        row = (await self.session.execute(stmt)).first()
        return _delivery(row) if row is not None else None

    async def update_delivery(self, delivery: WebhookDelivery) -> None:
        values = _delivery_values(delivery)
        stmt = update(webhook_deliveries).where(_d.job_id == delivery.job_id).values(values)
        await self.session.execute(stmt)

    async def deliveries(
        self, team_id: int, webhook_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[WebhookDelivery], int]:
        where = [_d.team_id == team_id, _d.webhook_id == webhook_id]
        stmt = select(webhook_deliveries).where(*where).order_by(_d.job_id.desc())
        rows = await self.session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
        return [_delivery(r) for r in rows], await self._count(webhook_deliveries, where)
