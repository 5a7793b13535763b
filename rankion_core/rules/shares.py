"""Public shares: a random token, an optional expiry, revocable, counted."""

from __future__ import annotations

import secrets
from datetime import datetime

from ..errors import Invalid
from ..models import Share
from .limits import SHARE_TOKEN_BYTES


def new_token() -> str:
    """URL-safe, ``SHARE_TOKEN_BYTES`` random bytes (192 bits)."""
    return secrets.token_urlsafe(SHARE_TOKEN_BYTES)


def check_expiry(expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_at is not None and expires_at <= now:
        raise Invalid(
            "expires_at must lie in the future",
            details={"expires_at": "must be in the future"},
        )
    return expires_at


def new_share(*, team_id: int, image_id: int, now: datetime, expires_at: datetime | None) -> Share:
    return Share(
        id=0,
        team_id=team_id,
        image_id=image_id,
        token=new_token(),
        created_at=now,
        expires_at=check_expiry(expires_at, now),
    )


def is_active(share: Share, now: datetime) -> bool:
    if share.revoked_at is not None:
        return False
    return share.expires_at is None or share.expires_at > now


def revoke(share: Share, now: datetime) -> None:
    share.revoked_at = now
