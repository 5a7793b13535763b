"""Public shares of an image."""

from __future__ import annotations

from datetime import datetime

from attrs import define, field

from .common import UNSET, Unset, doc


@define(frozen=True)
class ShareBody:
    expires_at: datetime | Unset | None = field(
        default=UNSET,
        metadata=doc("sets the expiry of a new or the existing share; must lie in the future"),
    )


@define(frozen=True)
class ShareExpiryBody:
    expires_at: datetime | None = field(metadata=doc("the new expiry, or null for none"))


@define(frozen=True)
class ShareOut:
    token: str
    public_url: str
    expires_at: datetime | None
    view_count: int
    created_at: datetime
