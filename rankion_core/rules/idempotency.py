"""Idempotency keys: same key + same request replays; a different request is refused."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..errors import Conflict, Invalid
from ..models import IdempotencyRecord
from .limits import IDEMPOTENCY_KEY_MAX, IDEMPOTENCY_TTL, IN_FLIGHT_TIMEOUT


class Decision(StrEnum):
    FRESH = "fresh"  # no usable record: answer the request and store the answer
    REPLAY = "replay"  # the stored answer is the answer


def check_key(key: str) -> str:
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX:
        raise Invalid(
            f"Idempotency-Key must be 1..{IDEMPOTENCY_KEY_MAX} characters",
            details={"Idempotency-Key": f"length 1..{IDEMPOTENCY_KEY_MAX}"},
        )
    return key


def fingerprint(method: str, path: str, body: Any) -> str:
    """Canonical: key order and white space of the JSON body do not matter."""
    canonical = json.dumps(
        [method.upper(), path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def is_expired(record: IdempotencyRecord, now: datetime) -> bool:
    return record.created_at + IDEMPOTENCY_TTL <= now


def is_abandoned(record: IdempotencyRecord, now: datetime) -> bool:
    """An answer never stored (the process died mid-request) frees its key after a while."""
    return not record.completed and record.created_at + IN_FLIGHT_TIMEOUT <= now


def decide(record: IdempotencyRecord, fingerprint_: str, now: datetime) -> Decision:
    """What to do with a request whose key already has ``record``."""
    if is_expired(record, now) or is_abandoned(record, now):
        return Decision.FRESH
    if record.fingerprint != fingerprint_:
        raise Invalid(
            "this Idempotency-Key was used for a different request",
            code="idempotency_key_reused",
        )
    if not record.completed:
        raise Conflict(
            "a request with this Idempotency-Key is still being answered",
            code="idempotency_key_in_flight",
        )
    return Decision.REPLAY


def storable(status: int) -> bool:
    """402 and 422 answers are not stored: the client may fix and retry with the key."""
    return status not in (402, 422) and status < 500
