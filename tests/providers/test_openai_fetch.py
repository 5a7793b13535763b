"""The outbound guard for image URLs: no DNS is needed to refuse a bad target."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from rankion_core.errors import ProviderRejected, ProviderUnavailable
from rankion_openai import fetch
from rankion_openai.fetch import (
    DEFAULT_URL_ALLOWLIST,
    GuardedResolver,
    check_address,
    check_url,
    fetch_image,
    redirect_target,
)

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
    with pytest.raises(ProviderRejected, match="IP address"):
        check_url(f"https://{host}/x.png", [host.strip("[]")])


def test_the_allowlist_is_configurable() -> None:
    check_url("https://images.example.org/a.png", ["images.example.org"])
    with pytest.raises(ProviderRejected):
        check_url("https://sub.images.example.org/a.png", ["images.example.org"])
    with pytest.raises(ProviderRejected):
        check_url(GOOD, ["images.example.org"])


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.31.255.255",
        "192.168.0.10",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fc00::1",
        "fe80::1%eth0",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 wrapping 10.0.0.1
        "not-an-ip",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(ProviderRejected):
        check_address(address)


@pytest.mark.parametrize("address", ["20.60.1.1", "2603:1030::1"])
def test_public_addresses_pass(address: str) -> None:
    check_address(address)


def test_a_relative_redirect_on_the_same_host_is_followed() -> None:
    target = redirect_target(GOOD, "/other.png", DEFAULT_URL_ALLOWLIST)
    assert target == "https://oaidalleapiprodscus.blob.core.windows.net/other.png"


@pytest.mark.parametrize(
    "location", [None, "", "http://169.254.169.254/latest/", "https://10.0.0.1/", "file:///x"]
)
def test_redirects_to_bad_targets_are_refused(location: str | None) -> None:
    with pytest.raises(ProviderRejected):
        redirect_target(GOOD, location, DEFAULT_URL_ALLOWLIST)


class _StubResolver(AbstractResolver):
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


async def test_the_resolver_refuses_a_host_with_any_private_answer() -> None:
    resolver = GuardedResolver(_StubResolver("20.60.1.1", "10.0.0.7"))
    with pytest.raises(ProviderRejected, match=r"10\.0\.0\.7"):
        await resolver.resolve("rebind.blob.core.windows.net", 443)


async def test_the_resolver_passes_public_answers_through() -> None:
    resolver = GuardedResolver(_StubResolver("20.60.1.1"))
    [answer] = await resolver.resolve("x.blob.core.windows.net", 443)
    assert answer["host"] == "20.60.1.1"


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
    app.router.add_get("/big", _answer(lambda: web.Response(body=b"x" * 5000)))
    runner = web.AppRunner(app)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    origin = f"http://fake.test:{sock.getsockname()[1]}"
    real_check_url, real_check_address = fetch.check_url, fetch.check_address

    def check_url(url: str, allowlist: Sequence[str] = DEFAULT_URL_ALLOWLIST) -> None:
        if not url.startswith(origin + "/"):
            real_check_url(url, allowlist)

    def check_address(address: str) -> None:
        if address != "127.0.0.1":
            real_check_address(address)

    monkeypatch.setattr(fetch, "check_url", check_url)
    monkeypatch.setattr(fetch, "check_address", check_address)
    monkeypatch.setattr(fetch, "DefaultResolver", lambda: _StubResolver("127.0.0.1"))
    yield origin
    await runner.cleanup()


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
    with pytest.raises(ProviderRejected, match=r"'169\.254\.169\.254' is an IP address"):
        await fetch_image(f"{loopback_origin}/evil")


async def test_fetch_caps_the_size(loopback_origin: str) -> None:
    with pytest.raises(ProviderUnavailable, match="larger than allowed"):
        await fetch_image(f"{loopback_origin}/big", max_bytes=100)
