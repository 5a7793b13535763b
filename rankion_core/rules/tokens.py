"""API tokens: when one expires, whether it still admits its caller, when to note its use."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from ..errors import Invalid
from ..models import ApiToken
from .limits import TOKEN_LIFETIME_MAX, TOKEN_TOUCH_INTERVAL


def url_safe(token: str, low: int, high: int) -> bool:
    """Whether ``token`` could be one ``secrets.token_urlsafe`` made: ``low`` to ``high``
    ASCII letters, digits, ``-`` and ``_``. The cheap shape check of a secret from a URL
    before any lookup (a miss is the same 404 either way)."""
    body = token.replace("-", "").replace("_", "")
    return low <= len(token) <= high and body.isascii() and body.isalnum()


def expiry(now: datetime, expires_in: timedelta | None) -> datetime | None:
    """When a token made ``now`` with that lifetime expires (None: never)."""
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds()
    if not (math.isfinite(seconds) and seconds > 0) or expires_in > TOKEN_LIFETIME_MAX:
        days = TOKEN_LIFETIME_MAX.days
        raise Invalid(
            f"a token's lifetime must be more than 0 and at most {days} days",
            details={"expires_in": f"must be > 0 and ≤ {days} days"},
        )
    return now + expires_in


def is_expired(expires_at: datetime | None, now: datetime) -> bool:
    """Expired from ``expires_at`` on (the instant itself included)."""
    return expires_at is not None and expires_at <= now


def admits(token: ApiToken, now: datetime) -> bool:
    """Whether a stored token still authenticates its caller (revoked ones are deleted)."""
    return not is_expired(token.expires_at, now)


def needs_touch(token: ApiToken, now: datetime) -> bool:
    """Whether ``last_used_at`` is stale enough to be written again."""
    last = token.last_used_at
    return last is None or now - last >= TOKEN_TOUCH_INTERVAL
