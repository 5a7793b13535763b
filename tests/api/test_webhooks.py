"""Webhooks over HTTP: subscriptions, signed deliveries, retries and their record."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest
import standardwebhooks
import standardwebhooks.webhooks
from aiohttp import web
from aiohttp.test_utils import TestServer

from rankion_api.calendar import EventOut
from rankion_client import verify_signature
from rankion_core.rules import webhooks as rules
from rankion_core.rules.webhooks import verify
from rankion_server.webhook_sender import CONNECT_FAILED

from .conftest import Api, ClientFactory, config, start

ServerFactory = Callable[..., Awaitable[TestServer]]


@attrs.define
class Receiver:
    """A local endpoint that answers ``statuses`` in turn (then 200) and keeps what came."""

    url: str = ""
    statuses: list[int] = attrs.field(factory=list)
    got: list[tuple[dict[str, str], bytes]] = attrs.field(factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.got.append((dict(request.headers), await request.read()))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


@pytest.fixture
async def hooked(aiohttp_client: ClientFactory) -> Api:
    cfg = attrs.evolve(config(), webhooks_allow_private=True, webhook_backoff_seconds=0.01)
    return await start(aiohttp_client, cfg)


@pytest.fixture
async def receiver(aiohttp_server: ServerFactory) -> Receiver:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/hook", found.handle)
    server = await aiohttp_server(app)
    found.url = str(server.make_url("/hook"))
    return found


async def subscribe(api: Api, url: str, events: list[str] | None = None) -> dict[str, Any]:
    answer = await api.post("/v1/webhooks", {"url": url, "events": events or ["image.ready"]})
    assert answer.status == 201, answer.body
    return answer.data  # type: ignore[no-any-return]


async def test_create_shows_the_secret_once_and_lists_without_it(hooked: Api) -> None:
    made = await subscribe(hooked, "https://example.com/hook", ["image.ready", "export.ready"])
    assert made["secret"].startswith("whsec_") and made["events"] == ["image.ready", "export.ready"]
    listed = await hooked.get("/v1/webhooks")
    assert listed.json["meta"]["total"] == 1 and "secret" not in listed.data[0]
    detail = await hooked.get(f"/v1/webhooks/{made['id']}")
    assert detail.status == 200 and "secret" not in detail.data


async def test_another_teams_webhook_is_a_404(hooked: Api) -> None:
    made = await subscribe(hooked, "https://example.com/hook")
    mine = await hooked.get(f"/v1/webhooks/{made['id']}")
    theirs = await hooked.get(f"/v1/webhooks/{made['id']}", team=hooked.b)
    missing = await hooked.get("/v1/webhooks/999999")
    assert mine.status == 200 and theirs.status == missing.status == 404
    assert theirs.body == missing.body
    assert (await hooked.call("DELETE", f"/v1/webhooks/{made['id']}", team=hooked.b)).status == 404
    assert (await hooked.get(f"/v1/webhooks/{made['id']}/deliveries", team=hooked.b)).status == 404
    assert (await hooked.call("DELETE", f"/v1/webhooks/{made['id']}")).status == 204
    assert (await hooked.get(f"/v1/webhooks/{made['id']}")).status == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.com/x", "events": ["image.ready"]}, "url"),
        ({"url": "https://example.com/x", "events": []}, "events"),
        ({"url": "https://example.com/x", "events": ["image.gone"]}, "events"),
        ({"url": "https://u:p@example.com/x", "events": ["image.ready"]}, "url"),
        ({"url": "https://example.com/x", "events": ["image.ready"], "team_id": 2}, "team_id"),
    ],
)
async def test_bad_webhooks_are_422(hooked: Api, body: dict[str, Any], field: str) -> None:
    answer = await hooked.post("/v1/webhooks", body)
    assert answer.status == 422 and field in answer.error["details"], answer.body


MALFORMED_TARGETS = [
    "http://a..b/x",
    "http://xn--/x",
    "http://xn--zz.example/x",
    f"http://{'a' * 64}.com/x",
    "http://" + ".".join(["a" * 63] * 4) + "/x",
    "http://-a.com/x",
    "http://a-.com/x",
    "http://a_b.com/x",
    "http://example.com../x",
    "http://1.1.1.1:0/x",
    "https://example.com:0/x",
]


@pytest.mark.parametrize("url", MALFORMED_TARGETS)
async def test_a_target_with_a_malformed_host_or_port_0_is_422(hooked: Api, url: str) -> None:
    # private targets allowed: these are refused by their form, not their address
    answer = await hooked.post("/v1/webhooks", {"url": url, "events": ["image.ready"]})
    assert answer.status == 422, (url, answer.body)
    assert answer.error["code"] == "validation_error"
    assert list(answer.error["details"]) == ["url"], answer.body


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com./x",
        "https://b\u00fccher.example/x",
        "https://xn--bcher-kva.example/x",
        f"https://{'a' * 63}.example/x",
        "https://a-b.example:1/x",
    ],
)
async def test_a_valid_host_name_is_accepted(hooked: Api, url: str) -> None:
    await subscribe(hooked, url)


async def test_private_targets_are_refused_unless_allowed(api: Api) -> None:
    for url in (
        "http://127.0.0.1:9/x",
        "http://10.0.0.1/x",
        "http://[::1]/x",
        "http://localhost/x",
    ):
        answer = await api.post("/v1/webhooks", {"url": url, "events": ["image.ready"]})
        assert answer.status == 422 and "url" in answer.error["details"], url


async def test_image_ready_is_delivered_signed(hooked: Api, receiver: Receiver) -> None:
    made = await subscribe(hooked, receiver.url)
    image_id = await hooked.generate()
    await hooked.run_jobs()
    assert len(receiver.got) == 1
    headers, body = receiver.got[0]
    assert verify(made["secret"], headers["Rankion-Signature"], body, time.time())
    assert not verify("whsec_wrong", headers["Rankion-Signature"], body, time.time())
    assert headers["Rankion-Event"] == "image.ready"
    sent = json.loads(body)
    assert sent["type"] == "image.ready" and sent["data"]["image"]["id"] == image_id
    assert sent["id"] == int(headers["Rankion-Delivery"])
    deliveries = await hooked.get(f"/v1/webhooks/{made['id']}/deliveries")
    (row,) = deliveries.data
    assert row["status"] == "succeeded" and row["attempts"][0]["status_code"] == 200


async def test_deliveries_verify_with_the_standard_webhooks_package(
    hooked: Api, receiver: Receiver
) -> None:
    made = await subscribe(hooked, receiver.url)
    receiver.statuses = [500]  # the retry carries the same webhook-id
    image_id = await hooked.generate()
    for _ in range(2):
        await hooked.run_jobs()
        await asyncio.sleep(0.05)
    assert len(receiver.got) == 2
    standard = standardwebhooks.Webhook(made["secret"])
    ids = set()
    for headers, body in receiver.got:
        assert standard.verify(body, headers)["data"]["image"]["id"] == image_id
        assert verify_signature(made["secret"], headers, body)
        assert verify_signature(made["secret"], headers["Rankion-Signature"], body)
        ids.add(headers["webhook-id"])
    assert ids == {receiver.got[0][0]["Rankion-Delivery"]}
    headers, body = receiver.got[0]
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(rules.new_secret()).verify(body, headers)
    assert not verify_signature(rules.new_secret(), headers, body)
    assert not verify_signature(made["secret"], headers, body + b" ")
    stale = time.time() + 3600
    assert not verify_signature(made["secret"], headers, body, now=stale)


async def test_a_failing_receiver_gets_it_on_the_third_try(hooked: Api, receiver: Receiver) -> None:
    made = await subscribe(hooked, receiver.url)
    receiver.statuses = [500, 503]
    await hooked.generate()
    for _ in range(3):
        await hooked.run_jobs()
        await asyncio.sleep(0.05)
    assert len(receiver.got) == 3
    assert receiver.got[0][1] == receiver.got[2][1]  # the same body every time
    (row,) = (await hooked.get(f"/v1/webhooks/{made['id']}/deliveries")).data
    assert [a["status_code"] for a in row["attempts"]] == [500, 503, 200]
    assert row["status"] == "succeeded" and row["attempts"][0]["error"]


async def test_calendar_and_export_events_are_delivered(hooked: Api, receiver: Receiver) -> None:
    await subscribe(hooked, receiver.url, ["calendar.event.changed", "export.ready"])
    project = await hooked.project()
    made = await hooked.post(
        f"/v1/projects/{project}/calendar", {"title": "Launch", "status": "idea"}
    )
    await hooked.call("DELETE", f"/v1/calendar/{made.data['id']}")
    image_id = await hooked.generate()
    await hooked.post("/v1/images/bulk/export", {"ids": [image_id]})
    await hooked.run_jobs()
    kinds = [(json.loads(b)["type"], json.loads(b)["data"].get("action")) for _, b in receiver.got]
    assert kinds == [
        ("calendar.event.changed", "created"),
        ("calendar.event.changed", "deleted"),
        ("export.ready", None),
    ]


async def test_a_changed_events_payload_is_the_apis_event(hooked: Api, receiver: Receiver) -> None:
    """The ``event`` of each ``calendar.event.changed`` is what the API answered for the
    event at that change: the create's answer, a GET after the update and after the
    shift, a GET just before the delete (``scheduled_local`` in the project's zone)."""
    await subscribe(hooked, receiver.url, ["calendar.event.changed"])
    made = await hooked.post("/v1/projects", {"name": "Blog", "time_zone": "Europe/Berlin"})
    project = made.data["id"]
    body = {"title": "Launch", "scheduled_at": "2026-05-15T09:00:00Z", "notes": "hero"}
    created = await hooked.post(f"/v1/projects/{project}/calendar", body)
    path = f"/v1/calendar/{created.data['id']}"
    await hooked.call("PUT", path, {"title": "Launch day", "article_id": None})
    updated = (await hooked.get(path)).data
    shift = {"from": "2026-05-01", "to": "2026-05-31", "days": 1}
    await hooked.post(f"/v1/projects/{project}/calendar/shift", shift)
    shifted = (await hooked.get(path)).data
    await hooked.call("DELETE", path)
    await hooked.run_jobs()
    payloads = [json.loads(b)["data"] for _, b in sorted(receiver.got, key=_delivery)]
    assert [(p["action"], p["event"]) for p in payloads] == [
        ("created", created.data),
        ("updated", updated),
        ("updated", shifted),
        ("deleted", shifted),
    ]
    assert shifted["scheduled_local"] == "2026-05-16T11:00:00+02:00"
    assert set(shifted) == {f.name for f in attrs.fields(EventOut)}


def _delivery(got: tuple[dict[str, str], bytes]) -> int:
    return int(got[0]["Rankion-Delivery"])


async def test_a_refused_target_is_recorded_as_a_failed_attempt(api: Api) -> None:
    async with api.rankion.deps.storage.unit_of_work() as uow:
        from rankion_core.webhooks import Webhook

        hook = await uow.webhooks.add(
            Webhook(
                0, api.a.id, "http://127.0.0.1:9/x", ["image.ready"], "whsec_x", api.clock.now()
            )
        )
        await uow.commit()
    await api.generate()
    (row,) = (await api.get(f"/v1/webhooks/{hook.id}/deliveries")).data
    assert row["status"] == "pending" and row["attempts"][0]["status_code"] is None
    assert row["attempts"][0]["error"] == CONNECT_FAILED
