"""Webhooks: subscribe, list, read, delete, and each one's deliveries."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from rankion_api.webhooks import (
    CreateWebhookBody,
    DeliveryAttemptOut,
    DeliveryOut,
    WebhookCreatedOut,
    WebhookOut,
)
from rankion_core.webhooks import Webhook, WebhookDelivery

from ..bodies import parse
from ..convert import structure
from ..keys import actor, rankion
from ..operations import operation
from ..query import PAGING, paging
from ..responses import no_content, ok, page
from .common import path_id, seg

routes = web.RouteTableDef()
TAG = "webhooks"
SIGNING = (
    "Every delivery is a POST of {id, type, created_at, data} signed twice with the "
    "webhook's secret: the Standard Webhooks headers (webhook-id, webhook-timestamp, "
    "webhook-signature: v1,<base64 HMAC-SHA256 of id + '.' + timestamp + '.' + body, keyed "
    "with the base64 after whsec_>) and Rankion-Signature: t=<unix>,v1=<hex HMAC-SHA256 "
    "of t + '.' + body, keyed with the whole secret>. The data of calendar.event.changed "
    "is {action: created|updated|deleted, event}, event being the Event as GET "
    "/v1/calendar/{id} answers it at that change (scheduled_local included)."
)


def webhook(hook: Webhook) -> WebhookOut:
    return WebhookOut(hook.id, hook.url, list(hook.events), hook.description, hook.created_at)


def _attempt(raw: dict[str, Any]) -> DeliveryAttemptOut:
    return structure(
        {k: raw.get(k) for k in ("attempt", "at", "status_code", "error", "ms")}, DeliveryAttemptOut
    )


def delivery(d: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=d.job_id,
        webhook_id=d.webhook_id,
        event=d.event,
        status=d.status,
        attempts=[_attempt(a) for a in d.attempts],
        created_at=d.created_at,
        next_attempt_at=d.next_attempt_at,
        finished_at=d.finished_at,
    )


@routes.get("/v1/webhooks", allow_head=False)
@operation("List the team's webhooks", TAG, response=WebhookOut, paged=True, params=PAGING)
async def list_webhooks(request: web.Request) -> web.StreamResponse:
    number, per_page = paging(request.query)
    return page(await rankion(request).webhooks.list(actor(request), number, per_page), webhook)


@routes.post("/v1/webhooks")
@operation(
    "Create a webhook (its secret is shown once)",
    TAG,
    status=201,
    response=WebhookCreatedOut,
    body=CreateWebhookBody,
    headers=("Location",),
    description=SIGNING + " A URL whose host is private, loopback or link-local (in any "
    "spelling, or localhost) is 422, as is one that does not match the url pattern. A team "
    "may have 20 webhooks (a setting): past it, 422 limit_exceeded.",
)
async def create_webhook(request: web.Request) -> web.StreamResponse:
    body = await parse(request, CreateWebhookBody)
    hook = await rankion(request).webhooks.create(
        actor(request), body.url, body.events, body.description
    )
    out = WebhookCreatedOut(
        hook.id, hook.url, list(hook.events), hook.description, hook.created_at, hook.secret
    )
    return ok(out, status=201, location=f"/v1/webhooks/{hook.id}")


@routes.get(f"/v1/webhooks/{seg('id')}", allow_head=False)
@operation("Read a webhook", TAG, response=WebhookOut)
async def get_webhook(request: web.Request) -> web.StreamResponse:
    return ok(webhook(await rankion(request).webhooks.get(actor(request), path_id(request))))


@routes.delete(f"/v1/webhooks/{seg('id')}")
@operation("Delete a webhook and its deliveries", TAG, status=204)
async def delete_webhook(request: web.Request) -> web.StreamResponse:
    await rankion(request).webhooks.delete(actor(request), path_id(request))
    return no_content()


@routes.get(f"/v1/webhooks/{seg('id')}/deliveries", allow_head=False)
@operation(
    "A webhook's deliveries, newest first, each with every attempt",
    TAG,
    response=DeliveryOut,
    paged=True,
    params=PAGING,
)
async def list_deliveries(request: web.Request) -> web.StreamResponse:
    number, per_page = paging(request.query)
    found = await rankion(request).webhooks.deliveries(
        actor(request), path_id(request), number, per_page
    )
    return page(found, delivery)
