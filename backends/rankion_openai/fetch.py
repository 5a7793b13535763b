"""Fetching an image the provider answered with a URL, without becoming an SSRF hop.

The outbound guard (``rankion_outbound``) does the work; on top of it a provider URL
must be https on the default port, name its host in canonical form (not an IP address
in any spelling, not a host that IDNA would rewrite) and match the allowlist
(``.suffix`` entries match subdomains, others exactly). Every address connected to
must be public, and redirects are followed by hand, each hop checked like the first.
Refusals are ``ProviderRejected``; network trouble is ``ProviderUnavailable``.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urljoin, urlsplit

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver

from rankion_core.errors import ProviderRejected, ProviderUnavailable
from rankion_outbound import TargetRefused, guarded_session
from rankion_outbound import check_url as check_target

__all__ = ["DEFAULT_URL_ALLOWLIST", "check_url", "fetch_image", "redirect_target"]

DEFAULT_URL_ALLOWLIST: tuple[str, ...] = (
    "oaidalleapiprodscus.blob.core.windows.net",
    ".blob.core.windows.net",
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HTTPS = ("https",)


def _refuse(reason: str) -> ProviderRejected:
    return ProviderRejected(f"refusing to fetch the provider's image URL: {reason}")


def _allowed(host: str, allowlist: Sequence[str]) -> bool:
    for entry in (e.strip().lower().rstrip(".") for e in allowlist):
        if entry.startswith(".") and host.endswith(entry) and len(host) > len(entry):
            return True
        if entry and not entry.startswith(".") and host == entry:
            return True
    return False


def check_url(url: str, allowlist: Sequence[str] = DEFAULT_URL_ALLOWLIST) -> yarl.URL:
    """``url`` parsed, or ``ProviderRejected`` unless it may be fetched; no DNS."""
    try:
        target = check_target(url, allow_private=False, schemes=_HTTPS, allow_ip=False)
    except TargetRefused as exc:
        raise _refuse(exc.problem) from None
    written = (urlsplit(url).hostname or "").rstrip(".")
    if target.host is None or target.host.rstrip(".") != written or not written.isascii():
        raise _refuse(f"host {written!r} is not written in canonical form")
    if target.port != 443:
        raise _refuse(f"port {target.port} is not allowed")
    if not _allowed(written, allowlist):
        raise _refuse(f"host {written!r} is not in the allowlist")
    return target


def redirect_target(current: str, location: str | None, allowlist: Sequence[str]) -> yarl.URL:
    """Where a redirect points, if it may be followed."""
    if not location:
        raise _refuse("a redirect without a Location")
    return check_url(urljoin(current, location), allowlist)


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
    resolver: AbstractResolver | None = None,
) -> bytes:
    """GET ``url`` through the guard; ``resolver`` replaces the system resolver."""
    target = check_url(url, allowlist)
    try:
        async with guarded_session(
            allow_private=False, timeout=time_limit, resolver=resolver
        ) as session:
            for _ in range(max_redirects + 1):
                async with session.get(target, allow_redirects=False) as response:
                    if response.status in _REDIRECTS:
                        location = response.headers.get("Location")
                        target = redirect_target(str(target), location, allowlist)
                        continue
                    if response.status != 200:
                        raise ProviderUnavailable(
                            f"the provider's image URL answered HTTP {response.status}"
                        )
                    return await _read_capped(response, max_bytes)
    except TargetRefused as exc:
        raise _refuse(exc.problem) from None
    except (aiohttp.ClientError, TimeoutError):
        raise ProviderUnavailable("could not download the provider's image") from None
    raise _refuse("too many redirects")
