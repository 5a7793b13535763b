"""What a stranger learns from the server, and how long a revoked share keeps working.

- No answer names Python or aiohttp, and requests aiohttp refuses before routing
  (an oversized header, ``Content-Encoding: br``, bytes that are not HTTP) answer in
  the error envelope; no byte of a hostile header reaches the log.
- After a share is revoked or its image trashed, the page, the image and every link
  found in the page stop working within 60 s (here within a 2 s window, and the
  default window is checked in the expiry the links carry).
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from tests.e2e.support import Api, Process, bootstrap, expect, generate, serve

from .conftest import Arena

#: a marker no answer or log line may repeat
HOSTILE = b"Xq7HOSTILEhdrBYTES"


def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``request`` as is; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines)}
    return int(status_line.split()[1]), headers, body


def _port(arena: Arena) -> int:
    assert arena.process.port is not None
    return arena.process.port


async def test_no_answer_carries_a_version_banner(victim: Api, arena: Arena) -> None:
    anonymous = Api(victim.session, arena.base_url)
    replies = [
        await victim.get("/healthz"),
        await victim.get("/v1/images"),
        await victim.get("/v1/nowhere"),
        await anonymous.get("/v1/images"),
        await anonymous.get("/s/" + "A" * 32),
    ]
    for reply in replies:
        assert reply.headers.get("Server", "rankion") == "rankion", reply.headers
    status, headers, _ = _raw(_port(arena), b"GET /healthz HTTP/1.0\r\n\r\n")
    assert status == 200 and headers.get("server") == "rankion"


@pytest.mark.parametrize(
    ("request_bytes", "status", "code"),
    [
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: " + HOSTILE + b"A" * 9000 + b"\r\n\r\n",
            431,
            "header_too_large",
        ),
        (
            b"GET /healthz?" + HOSTILE + b"B" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            431,
            "header_too_large",
        ),
        (
            b"POST /v1/projects HTTP/1.1\r\nHost: x\r\nContent-Encoding: br\r\n"
            b"X-Note: " + HOSTILE + b"\r\nContent-Length: 4\r\n\r\nabcd",
            415,
            "unsupported_encoding",
        ),
        (b"\x16\x03\x01" + HOSTILE + b" / HTTP/1.1\r\n\r\n", 400, "bad_request"),
        (b"GET / HTTP/1.1\r\nHost: x\r\nX-Note: " + HOSTILE + b"\x01\r\n\r\n", 400, "bad_request"),
    ],
    ids=["oversized-header", "oversized-request-line", "content-encoding-br", "not-http", "ctl"],
)
def test_errors_before_routing_answer_in_the_envelope_and_stay_out_of_the_log(
    arena: Arena, request_bytes: bytes, status: int, code: str
) -> None:
    got, headers, body = _raw(_port(arena), request_bytes)
    assert (got, headers.get("content-type", "").split(";")[0]) == (status, "application/json")
    assert json.loads(body)["error"]["code"] == code
    assert headers.get("server") == "rankion"
    assert re.fullmatch(r"[0-9a-f]{32}", headers.get("x-request-id", "")), headers
    assert HOSTILE not in body
    time.sleep(0.2)  # the log line is written after the answer
    log = arena.process.log()
    assert HOSTILE.decode() not in log
    assert "Traceback" not in log


@pytest.mark.parametrize("encoding", [b"gzip", b"deflate"], ids=lambda e: e.decode())
def test_a_body_that_is_not_what_its_content_encoding_says_is_a_400(
    arena: Arena, encoding: bytes
) -> None:
    """aiohttp decodes the body only as the handler reads it, after routing: the error
    then reached the handler, was a 500 and logged a traceback."""
    body = b'{"name": "' + HOSTILE + b'"}'
    request = (
        b"POST /v1/projects HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + arena.victim.token.encode() + b"\r\n"
        b"Content-Encoding: "
        + encoding
        + b"\r\nX-Request-Id: plain-body-"
        + encoding[:4]
        + b"\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )
    got, headers, answer = _raw(_port(arena), request)
    assert (got, json.loads(answer)["error"]["code"]) == (400, "bad_request"), answer
    assert headers.get("x-request-id") == "plain-body-" + encoding[:4].decode()
    assert HOSTILE not in answer
    time.sleep(0.2)
    log = arena.process.log()
    assert "Traceback" not in log and HOSTILE.decode() not in log


# ---------------------------------------------------------------- share revocation


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Process, str]]:
    """A server whose share pages embed links that live 2 s."""
    data_dir: Path = tmp_path_factory.mktemp("revocation")
    tenant = bootstrap(data_dir, team="sharer")
    process = serve(data_dir=data_dir, env={"RANKION_SHARE_LINK_SECONDS": "2"})
    yield process, tenant.token
    process.stop()


def _links(html: str) -> set[str]:
    found = re.findall(r'(?:src|href|content)="(https?://[^"]+)"', html)
    return {unescape(link) for link in found}


async def _status(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url) as resp:
        await resp.read()
        return resp.status


async def _shared_page(api: Api, how: str) -> tuple[str, set[str], int]:
    """Share a fresh image; its page URL, every link in the page, and the image id."""
    image = await generate(api, f"a share to {how}")
    share = expect(await api.post(f"/v1/images/{image['id']}/share"), 201).data
    page = expect(await Api(api.session, api.base_url).get(share["public_url"]), 200)
    links = _links(page.text) - {share["public_url"]}
    assert share["public_url"] + "/image" in links  # og:image
    assert any("sig=" in link or "Signature" in link for link in links), links  # the <img>
    return share["public_url"], links, int(image["id"])


async def _all_dead_within(session: aiohttp.ClientSession, urls: set[str], within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        alive = [url for url in urls if await _status(session, url) == 200]
        if not alive:
            return
        assert time.monotonic() < deadline, f"still answering after {within}s: {alive}"
        await asyncio.sleep(0.25)


@pytest.mark.parametrize("how", ["revoke", "trash"])
async def test_every_link_of_a_share_dies_soon_after_revocation(
    quick: tuple[Process, str], session: aiohttp.ClientSession, how: str
) -> None:
    process, token = quick
    api = Api(session, process.base_url, token)
    page, links, image_id = await _shared_page(api, how)
    for url in links:
        assert await _status(session, url) == 200, url
    if how == "revoke":
        expect(await api.delete(f"/v1/images/{image_id}/share"), 204)
    else:
        expect(await api.delete(f"/v1/images/{image_id}"), 200)
    async with session.get(page) as gone:
        assert gone.status == 404 and gone.content_type == "text/html"
    await _all_dead_within(session, links | {page}, within=2 + 3)  # the window + a margin


async def test_links_embedded_in_a_share_page_expire_within_60_seconds(victim: Api) -> None:
    _page, links, _image_id = await _shared_page(victim, "inspect")
    signed = [link for link in links if "expires=" in link]
    assert signed, links
    now = time.time()
    for link in signed:
        expires = int(parse_qs(urlsplit(link).query)["expires"][0])
        assert now < expires <= now + 60 + 1, (link, expires - now)
