"""The outbound guard for image URLs: no DNS is needed to refuse a bad target."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import pytest
import yarl
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

import rankion_outbound
from rankion_core.errors import ProviderRejected, ProviderUnavailable
from rankion_openai import fetch
from rankion_openai.fetch import DEFAULT_URL_ALLOWLIST, check_url, fetch_image, redirect_target
from tests.support.outbound_corpus import HOSTS, by_address, by_form

GOOD = "https://oaidalleapiprodscus.blob.core.windows.net/private/org/img-1.png?sig=abc"

BAD_URLS = [
    "https://127.0.0.1/x.png",
    "https://localhost/x.png",
    "https://[::1]/x.png",
    "https://10.0.0.1/x.png",
    "https://172.16.0.1/x.png",
    "https://192.168.1.1/x.png",
    "https://169.254.169.254/latest/meta-data/",
    "https://0.0.0.0/x.png",
    "https://2130706433/x.png",
    "https://0x7f000001/x.png",
    "https://0177.0.0.1/x.png",
    "https://127.1/x.png",
    "https://[::ffff:127.0.0.1]/x.png",
    "https://[fc00::1]/x.png",
    "https://[fe80::1%25eth0]/x.png",
    "https://[fe80::1]/x.png",
    "https://100.64.0.1/x.png",
    "https://8.8.8.8/x.png",  # public, but an IP is never an allowlisted host
    "https://evil.example.com/x.png",
    "https://blob.core.windows.net.evil.com/x.png",
    "https://evilblob.core.windows.net/x.png",
    "https://.blob.core.windows.net/x.png",
    "http://oaidalleapiprodscus.blob.core.windows.net/x.png",
    "file:///etc/passwd",
    "ftp://oaidalleapiprodscus.blob.core.windows.net/x.png",
    "gopher://oaidalleapiprodscus.blob.core.windows.net/x.png",
    "https://oaidalleapiprodscus.blob.core.windows.net@127.0.0.1/x.png",
    "https://user:pass@oaidalleapiprodscus.blob.core.windows.net/x.png",
    "https://oaidalleapiprodscus.blob.core.windows.net:8080/x.png",
    "https://oaidalleapiprodscus.blob.core.windows.net\\@127.0.0.1/x.png",
    "https://oaidalleapiprodscus.blob.core.windows.net /x.png",
    "https://oaidalleapiprodscus。blob.core.windows.net/x.png",
    "https:///x.png",
    "https://[::1/x.png",
    "//oaidalleapiprodscus.blob.core.windows.net/x.png",
    "",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_bad_targets_are_refused(url: str) -> None:
    with pytest.raises(ProviderRejected, match="refusing to fetch"):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        GOOD,
        "https://someaccount.blob.core.windows.net/images/a.webp",
        "https://OAIDALLEAPIPRODSCUS.blob.core.windows.net./x.png",
        "https://oaidalleapiprodscus.blob.core.windows.net:443/x.png",
    ],
)
def test_allowlisted_https_urls_pass(url: str) -> None:
    check_url(url)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "2130706433", "0x7f000001", "127.1", "[::1]", "10.0.0.1", "8.8.8.8"]
)
def test_an_ip_host_is_refused_even_when_allowlisted(host: str) -> None:
    with pytest.raises(ProviderRejected, match="not an IP address"):
        check_url(f"https://{host}/x.png", [host.strip("[]")])


def test_the_allowlist_is_configurable() -> None:
    check_url("https://images.example.org/a.png", ["images.example.org"])
    with pytest.raises(ProviderRejected):
        check_url("https://sub.images.example.org/a.png", ["images.example.org"])
    with pytest.raises(ProviderRejected):
        check_url(GOOD, ["images.example.org"])


@pytest.mark.parametrize("url", by_form(443, "https") + by_address(443, "https"))
def test_the_outbound_corpus_is_refused(url: str) -> None:
    with pytest.raises(ProviderRejected, match="refusing to fetch"):
        check_url(url)


@pytest.mark.parametrize("host", HOSTS)
def test_no_spelling_of_an_address_passes_even_when_allowlisted(host: str) -> None:
    with pytest.raises(ProviderRejected):
        check_url(f"https://{host}/x.png", [host.strip("[]"), host])


def test_a_relative_redirect_on_the_same_host_is_followed() -> None:
    target = redirect_target(GOOD, "/other.png", DEFAULT_URL_ALLOWLIST)
    assert str(target) == "https://oaidalleapiprodscus.blob.core.windows.net/other.png"


@pytest.mark.parametrize(
    "location", [None, "", "http://169.254.169.254/latest/", "https://10.0.0.1/", "file:///x"]
)
def test_redirects_to_bad_targets_are_refused(location: str | None) -> None:
    with pytest.raises(ProviderRejected):
        redirect_target(GOOD, location, DEFAULT_URL_ALLOWLIST)


class _Stub(AbstractResolver):
    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {"hostname": host, "host": a, "port": port, "family": family, "proto": 0, "flags": 0}
            for a in self.addresses
        ]

    async def close(self) -> None:
        return None


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "10.0.0.7", "169.254.169.254", "::1", "::ffff:127.0.0.1", "fc00::1"]
)
async def test_a_host_resolving_to_a_private_address_is_refused(address: str) -> None:
    with pytest.raises(ProviderRejected, match="private"):
        await fetch_image("https://rebind.blob.core.windows.net/x.png", resolver=_Stub(address))


async def test_fetch_refuses_before_connecting() -> None:
    with pytest.raises(ProviderRejected):
        await fetch_image("https://127.0.0.1/x.png")


@pytest.fixture
async def loopback_origin(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """An image server on 127.0.0.1 posing as ``fake.test``: only for that host (over
    http) are the gates loosened, so every other hop still meets the real checks."""
    app = web.Application()
    app.router.add_get("/img", _answer(lambda: web.Response(body=b"IMG" * 10)))
    app.router.add_get("/hop", _answer(lambda: _redirect("/img")))
    app.router.add_get("/evil", _answer(lambda: _redirect("https://169.254.169.254/")))
    wide = (
        "\uff11\uff16\uff19\u3002\uff12\uff15\uff14\u3002\uff11\uff16\uff19\u3002\uff12\uff15\uff14"
    )
    app.router.add_get("/wide", _answer(lambda: _redirect(f"https://{wide}/")))
    app.router.add_get("/big", _answer(lambda: web.Response(body=b"x" * 5000)))
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    origin = f"http://fake.test:{sock.getsockname()[1]}"
    real_check_url, real_address_problem = fetch.check_url, rankion_outbound.address_problem

    def check_url(url: str, allowlist: Sequence[str] = DEFAULT_URL_ALLOWLIST) -> yarl.URL:
        if url.startswith(origin + "/"):
            return yarl.URL(url)
        return real_check_url(url, allowlist)

    def address_problem(address: str) -> str | None:
        return None if address == "127.0.0.1" else real_address_problem(address)

    monkeypatch.setattr(fetch, "check_url", check_url)
    monkeypatch.setattr(rankion_outbound, "address_problem", address_problem)
    monkeypatch.setattr(fetch, "guarded_session", _resolving_to(fetch.guarded_session, "127.0.0.1"))
    yield origin
    await runner.cleanup()


def _resolving_to(make: Callable[..., Any], address: str) -> Callable[..., Any]:
    def session(**options: Any) -> Any:
        return make(**{**options, "resolver": _Stub(address)})

    return session


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


def _answer(
    make: Callable[[], web.StreamResponse],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(_: web.Request) -> web.StreamResponse:
        return make()

    return handler


async def test_fetch_follows_a_safe_redirect(loopback_origin: str) -> None:
    assert await fetch_image(f"{loopback_origin}/hop") == b"IMG" * 10


async def test_fetch_refuses_a_redirect_to_metadata(loopback_origin: str) -> None:
    with pytest.raises(ProviderRejected, match="not an IP address"):
        await fetch_image(f"{loopback_origin}/evil")


async def test_fetch_refuses_a_redirect_to_metadata_in_fullwidth(loopback_origin: str) -> None:
    with pytest.raises(ProviderRejected, match="not an IP address"):
        await fetch_image(f"{loopback_origin}/wide")


async def test_fetch_caps_the_size(loopback_origin: str) -> None:
    with pytest.raises(ProviderUnavailable, match="larger than allowed"):
        await fetch_image(f"{loopback_origin}/big", max_bytes=100)
