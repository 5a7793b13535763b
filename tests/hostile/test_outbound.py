"""Outbound requests cannot reach the server's own network.

A listener on 127.0.0.1 counts every connection it accepts; it must count none, for
every spelling of a non-public target in ``tests.support.outbound_corpus``: refused
when the webhook is created (422 naming ``url``), or, for a hostname, when the
delivery connects. The deliveries log reads the same for every such target, so it
cannot be used to find open ports."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from attrs import define

from rankion_outbound import GuardedConnector, TargetRefused, check_url
from rankion_server.webhook_sender import CONNECT_FAILED, AiohttpWebhookSender
from tests.e2e.support import Api, expect, poll
from tests.support.outbound_corpus import by_address, by_form


@define
class Listener:
    """A TCP server on loopback that counts the connections it accepts."""

    port: int
    accepted: int = 0


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    found = Listener(0)
    closing: list[asyncio.StreamWriter] = []

    def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        found.accepted += 1
        writer.close()
        closing.append(writer)

    servers = [await asyncio.start_server(accept, "127.0.0.1", 0)]
    found.port = servers[0].sockets[0].getsockname()[1]
    with contextlib.suppress(OSError):  # no IPv6 loopback here
        servers.append(await asyncio.start_server(accept, "::1", found.port))
    yield found
    for server in servers:
        server.close()
        await server.wait_closed()
    for writer in closing:  # closed for good before the test's loop ends
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class _Resolver(AbstractResolver):
    """Answers every name with ``address``, as a hostile DNS server would."""

    def __init__(self, address: str) -> None:
        self.address = address

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answer: ResolveResult = {
            "hostname": host, "host": self.address, "port": port,
            "family": socket.AF_INET, "proto": 0, "flags": 0,
        }  # fmt: skip
        return [answer]

    async def close(self) -> None:
        return None


async def _get(connector: aiohttp.BaseConnector, url: str) -> int:
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        session.get(url, allow_redirects=False) as answer,
    ):
        return answer.status


# ------------------------------------------------------------------ the adapter, in process


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_the_adapter_refuses_every_form(scheme: str) -> None:
    for url in by_form(9, scheme):
        with pytest.raises(TargetRefused):
            check_url(url, allow_private=False)


async def test_the_sender_connects_to_no_form_of_a_private_target(listener: Listener) -> None:
    sender = AiohttpWebhookSender(allow_private=False, timeout=5)
    try:
        urls = by_form(listener.port) + by_address(listener.port)
        results = await asyncio.gather(*(sender.send(u, b"{}", {}) for u in urls))
    finally:
        await sender.close()
    assert listener.accepted == 0
    assert {r.error for r in results} == {CONNECT_FAILED}
    assert all(r.status_code is None for r in results)


async def test_a_public_looking_name_resolving_to_loopback_is_refused(listener: Listener) -> None:
    url = f"http://hooks.example.com:{listener.port}/"
    with pytest.raises(TargetRefused, match="private"):
        await _get(GuardedConnector(resolver=_Resolver("127.0.0.1")), url)
    assert listener.accepted == 0
    # the same request with private targets allowed does connect: the listener counts
    with pytest.raises(aiohttp.ClientError):
        await _get(GuardedConnector(resolver=_Resolver("127.0.0.1"), allow_private=True), url)
    assert listener.accepted >= 1


@pytest.mark.parametrize("address", ["::ffff:127.0.0.1", "169.254.169.254", "10.0.0.1"])
async def test_every_resolver_answer_is_checked(address: str) -> None:
    with pytest.raises(TargetRefused):
        await _get(GuardedConnector(resolver=_Resolver(address)), "http://a.example.com/")


async def test_open_and_closed_ports_read_the_same(listener: Listener) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    sender = AiohttpWebhookSender(allow_private=False, timeout=5)
    name = socket.gethostname()
    try:
        opened = await sender.send(f"http://{name}:{listener.port}/", b"{}", {})
        shut = await sender.send(f"http://{name}:{closed}/", b"{}", {})
        metadata = await sender.send("http://169.254.169.254/latest/", b"{}", {})
    finally:
        await sender.close()
    assert opened.error == shut.error == metadata.error == CONNECT_FAILED
    assert listener.accepted == 0


async def test_webhook_redirects_are_not_followed(listener: Listener) -> None:
    async def hop(_: web.Request) -> web.Response:
        return web.Response(status=307, headers={"Location": f"http://127.0.0.1:{listener.port}/"})

    app = web.Application()
    app.router.add_post("/hook", hop)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    sender = AiohttpWebhookSender(allow_private=True, timeout=5)
    try:
        result = await sender.send(f"http://127.0.0.1:{port}/hook", b"{}", {})
    finally:
        await sender.close()
        await runner.cleanup()
    assert result.status_code == 307 and not result.ok
    assert listener.accepted == 0


# ------------------------------------------------------------------ a real server


async def _deliveries(api: Api, hook_id: int) -> list[dict[str, Any]]:
    return expect(await api.get(f"/v1/webhooks/{hook_id}/deliveries"), 200).data  # type: ignore[no-any-return]


async def test_the_server_refuses_by_form_and_never_connects(
    attacker: Api, arena: Any, listener: Listener
) -> None:
    events = ["calendar.event.changed"]
    for url in by_form(listener.port):
        answer = await attacker.post("/v1/webhooks", {"url": url, "events": events})
        assert answer.status == 422, (url, answer.text)
        assert "url" in answer.json()["error"]["details"], (url, answer.text)
    accepted = []
    for url in by_address(listener.port):
        made = expect(await attacker.post("/v1/webhooks", {"url": url, "events": events}), 201)
        accepted.append(made.data["id"])
    project = arena.attacker.project_id
    body = {"title": "Launch", "scheduled_at": "2026-05-15T09:00:00Z", "status": "scheduled"}
    expect(await attacker.post(f"/v1/projects/{project}/calendar", body), 201)

    async def tried() -> list[dict[str, Any]] | None:
        rows = [await _deliveries(attacker, hook) for hook in accepted]
        if all(r and r[0]["attempts"] for r in rows):
            return [r[0]["attempts"][0] for r in rows]
        return None

    attempts = await poll(tried, within=30)
    assert {a["error"] for a in attempts} == {CONNECT_FAILED}
    assert all(a["status_code"] is None for a in attempts)
    assert listener.accepted == 0
