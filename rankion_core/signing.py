"""HMAC-signed, expiring URLs for blobs the server serves itself (local folder).

Expiry is rounded up to a whole hour plus one, so a URL is valid for at least an hour
and the same URL is handed out for an hour: browsers and CDNs can cache it. A link that
must die soon (one embedded in a public share page) takes ``short_expiry`` instead.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from .rules.limits import DIGITS_MAX, URL_MIN_VALIDITY

__all__ = ["SIGNED_CACHE_SIZE", "HmacUrlSigner", "short_expiry", "url_expiry"]

#: signed URLs remembered per signer (they are the same for an hour; see ``sign``)
SIGNED_CACHE_SIZE = 20_000


def url_expiry(now: datetime, validity: timedelta = URL_MIN_VALIDITY) -> datetime:
    """``now + validity``, rounded up to the next whole hour."""
    at = now + validity
    rounded = at.replace(minute=0, second=0, microsecond=0)
    return rounded if rounded == at else rounded + timedelta(hours=1)


def short_expiry(now: datetime, seconds: float) -> datetime:
    """An expiry at most ``seconds`` (≥ 1) after ``now`` and more than half of it away,
    on a grid of ``seconds / 2``: the same link is handed out for that long, and none
    outlives ``seconds``."""
    window = max(1, int(seconds))
    step = max(1, window // 2)
    start = int(now.timestamp()) // step * step
    return datetime.fromtimestamp(start + window, tz=UTC)


class HmacUrlSigner:
    """Signs ``path`` + expiry with a server secret; verification is constant time."""

    def __init__(self, secret: bytes, base_url: str = "") -> None:
        if len(secret) < 16:
            raise ValueError("the URL signing secret must be at least 16 bytes")
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self._recent: dict[tuple[str, int], str] = {}

    def rebased(self, base_url: str) -> HmacUrlSigner:
        """A signer with the same secret whose URLs start with ``base_url`` (an API
        mounted under a prefix); links of either verify with both."""
        return HmacUrlSigner(self._secret, base_url)

    def signature(self, path: str, expires: int) -> str:
        msg = f"{path}\n{expires}".encode(errors="surrogatepass")  # any path, even undecodable
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()[:32]

    def sign(self, path: str, expires_at: datetime) -> str:
        return self.sign_at(path, int(expires_at.timestamp()))

    def sign_at(self, path: str, expires: int) -> str:
        """``sign`` with the expiry as a Unix timestamp."""
        # The same (path, hour) gives the same URL for an hour: remember the last ones
        # (a gallery page signs two per image; an HMAC each costs ~20 us).
        url = self._recent.get((path, expires))
        if url is None:
            sig = self.signature(path, expires)
            url = f"{self.base_url}{quote(path)}?expires={expires}&sig={sig}"
            if len(self._recent) >= SIGNED_CACHE_SIZE:
                self._recent.clear()
            self._recent[(path, expires)] = url
        return url

    def verify(self, path: str, expires: str, sig: str, now: datetime) -> bool:
        # at most 19 ASCII digits before int(): a 5,000-digit expiry is a bad link, not work
        well_formed = 0 < len(expires) <= DIGITS_MAX and expires.isascii() and expires.isdigit()
        if not well_formed or int(expires) < now.timestamp():
            return False
        return hmac.compare_digest(self.signature(path, int(expires)), sig)
