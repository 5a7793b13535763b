"""Projects, credits and the ledger, API tokens."""

from __future__ import annotations

from datetime import datetime

from attrs import define, field

from rankion_core.rules.limits import PROJECT_NAME_MAX

from .common import doc


@define(frozen=True)
class CreateProjectBody:
    name: str = field(metadata=doc(minLength=1, maxLength=PROJECT_NAME_MAX))


@define(frozen=True)
class ProjectOut:
    id: int
    name: str
    created_at: datetime


@define(frozen=True)
class BalanceOut:
    balance: int


@define(frozen=True)
class LedgerEntryOut:
    id: int
    delta: int = field(metadata=doc("negative for a charge, positive for a grant or refund"))
    reason: str
    image_id: int | None
    job_id: int | None
    created_at: datetime


@define(frozen=True)
class TokenOut:
    id: int
    prefix: str = field(metadata=doc("the token's non-secret lookup part (rk_<prefix>_…)"))
    user: str = field(metadata=doc("the name of the user the token acts for"))
    created_at: datetime
    last_used_at: datetime | None = field(
        metadata=doc("when the token was last used, to the minute; null if never")
    )
    expires_at: datetime | None = field(metadata=doc("null: valid until revoked"))
