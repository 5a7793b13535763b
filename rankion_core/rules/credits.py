"""Credits: a charge per job, refunded once if the job fails; never negative."""

from __future__ import annotations

from datetime import datetime

from ..models import JobKind, LedgerEntry
from .limits import EDIT_COST, GENERATE_COST

COSTS: dict[JobKind, int] = {JobKind.GENERATE: GENERATE_COST, JobKind.EDIT: EDIT_COST}

CHARGE_REASONS: dict[JobKind, str] = {JobKind.GENERATE: "generate", JobKind.EDIT: "edit"}
REFUND_REASON = "refund"
GRANT_REASON = "grant"


def cost(kind: JobKind) -> int:
    return COSTS.get(kind, 0)


def charge_entry(
    *, team_id: int, kind: JobKind, image_id: int, job_id: int, now: datetime
) -> LedgerEntry:
    return LedgerEntry(
        id=0,
        team_id=team_id,
        delta=-cost(kind),
        reason=CHARGE_REASONS[kind],
        created_at=now,
        image_id=image_id,
        job_id=job_id,
    )


def refund_entry(
    charge: int, *, team_id: int, image_id: int | None, job_id: int, now: datetime
) -> LedgerEntry:
    return LedgerEntry(
        id=0,
        team_id=team_id,
        delta=charge,
        reason=REFUND_REASON,
        created_at=now,
        image_id=image_id,
        job_id=job_id,
    )
