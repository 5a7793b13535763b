"""Projects, credits and the ledger, API tokens."""

from __future__ import annotations

from datetime import datetime

from attrs import define, field

from rankion_core.rules.calendar import DEFAULT_ZONE, zone_names
from rankion_core.rules.limits import PROJECT_NAME_MAX
from rankion_core.rules.text import NOT_BLANK

from .common import UNSET, Unset, doc

NAME_DOC = doc(minLength=1, maxLength=PROJECT_NAME_MAX, pattern=NOT_BLANK)
ZONE_DOC = doc(
    "an IANA time zone name (Europe/Berlin): the calendar's local days and times",
    enum=sorted(zone_names()),
)


@define(frozen=True)
class CreateProjectBody:
    name: str = field(metadata=NAME_DOC)
    time_zone: str = field(default=DEFAULT_ZONE, metadata=ZONE_DOC)


@define(frozen=True)
class UpdateProjectBody:
    """Fields not sent keep their value. A new zone keeps every event's instant."""

    name: str | Unset = field(default=UNSET, metadata=NAME_DOC)
    time_zone: str | Unset = field(default=UNSET, metadata=ZONE_DOC)


@define(frozen=True)
class ProjectOut:
    id: int
    name: str
    time_zone: str
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
