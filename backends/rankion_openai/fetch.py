"""Fetching an image the provider answered with a URL, without becoming an SSRF hop.

Three gates, each refusing with ``ProviderRejected``:

1. ``check_url`` (pure, no DNS): https only, no userinfo, no IP-literal or
   numeric-looking hosts (``2130706433``, ``0x7f000001``, ``127.1``), and the host
   must match the allowlist (``.suffix`` entries match subdomains, others exactly).
2. ``GuardedResolver``: every address a hostname resolves to must be public
   (``check_address``); the connection then goes to those vetted addresses, so a
   DNS answer cannot change between the check and the connect.
3. Redirects are followed by hand, each target passing gate 1 again.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from rankion_core.errors import ProviderRejected, ProviderUnavailable

__all__ = [
    "DEFAULT_URL_ALLOWLIST",
    "GuardedResolver",
    "check_address",
    "check_url",
    "fetch_image",
    "redirect_target",
]

DEFAULT_URL_ALLOWLIST: tuple[str, ...] = (
    "oaidalleapiprodscus.blob.core.windows.net",
    ".blob.core.windows.net",
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]*))*$")
_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\\]")


def _refuse(reason: str) -> ProviderRejected:
    return ProviderRejected(f"refusing to fetch the provider's image URL: {reason}")


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv4-mapped, 6to4, Teredo or NAT64 address carries."""
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)


def check_address(address: str) -> None:
    """Raise unless ``address`` is a public unicast IP (IPv4 inside IPv6 checked too)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        raise _refuse(f"{address!r} is not an IP address") from None
    if isinstance(ip, ipaddress.IPv6Address) and (embedded := _embedded_ipv4(ip)) is not None:
        check_address(str(embedded))
    if not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        raise _refuse(f"{ip} is not a public address")


def _allowed(host: str, allowlist: Sequence[str]) -> bool:
    for entry in (e.strip().lower().rstrip(".") for e in allowlist):
        if entry.startswith(".") and host.endswith(entry) and len(host) > len(entry):
            return True
        if entry and not entry.startswith(".") and host == entry:
            return True
    return False


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return bool(_NUMERIC_HOST.match(host))
    return True


def check_url(url: str, allowlist: Sequence[str] = DEFAULT_URL_ALLOWLIST) -> None:
    """Raise ``ProviderRejected`` unless ``url`` may be fetched; never resolves DNS."""
    if _FORBIDDEN_CHARS.search(url):
        raise _refuse("the URL contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _refuse("the URL cannot be parsed") from None
    if parts.scheme.lower() != "https":
        raise _refuse(f"scheme {parts.scheme or '(none)'!r} is not https")
    if "@" in parts.netloc:
        raise _refuse("the URL carries credentials")
    if port not in (None, 443):
        raise _refuse(f"port {port} is not allowed")
    host = (parts.hostname or "").rstrip(".")
    if not host or not host.isascii():
        raise _refuse("the URL has no usable host")
    if _is_ip_literal(host):
        raise _refuse(f"{host!r} is an IP address, not an allowed host")
    if not _allowed(host, allowlist):
        raise _refuse(f"host {host!r} is not in the allowlist")


def redirect_target(current: str, location: str | None, allowlist: Sequence[str]) -> str:
    """Where a redirect points, if it may be followed."""
    if not location:
        raise _refuse("a redirect without a Location")
    target = urljoin(current, location)
    check_url(target, allowlist)
    return target


class GuardedResolver(AbstractResolver):
    """Resolves through ``inner`` and refuses the host if any answer is not public."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        if not answers:
            raise _refuse(f"{host!r} did not resolve")
        for answer in answers:
            check_address(answer["host"])
        return answers

    async def close(self) -> None:
        await self._inner.close()


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    if response.content_length is not None and response.content_length > max_bytes:
        raise ProviderUnavailable("the provider's image is larger than allowed")
    data = await response.content.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ProviderUnavailable("the provider's image is larger than allowed")
    return data


async def fetch_image(
    url: str,
    *,
    allowlist: Sequence[str] = DEFAULT_URL_ALLOWLIST,
    time_limit: float = 60.0,
    max_bytes: int = 50 * 1024 * 1024,
    max_redirects: int = 3,
) -> bytes:
    """GET ``url`` through the three gates; network trouble is ``ProviderUnavailable``."""
    check_url(url, allowlist)
    connector = aiohttp.TCPConnector(resolver=GuardedResolver())
    client_timeout = aiohttp.ClientTimeout(total=time_limit)
    try:
        async with aiohttp.ClientSession(
            connector=connector, timeout=client_timeout, trust_env=False
        ) as session:
            for _ in range(max_redirects + 1):
                async with session.get(url, allow_redirects=False) as response:
                    if response.status in _REDIRECTS:
                        url = redirect_target(url, response.headers.get("Location"), allowlist)
                        continue
                    if response.status != 200:
                        raise ProviderUnavailable(
                            f"the provider's image URL answered HTTP {response.status}"
                        )
                    return await _read_capped(response, max_bytes)
    except (aiohttp.ClientError, TimeoutError):
        raise ProviderUnavailable("could not download the provider's image") from None
    raise _refuse("too many redirects")
