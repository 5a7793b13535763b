"""Idempotency keys: same key + same request replays; a different request is refused."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from ..errors import Conflict, Invalid
from ..models import IdempotencyRecord
from .limits import IDEMPOTENCY_KEY_MAX, IDEMPOTENCY_TTL, IN_FLIGHT_TIMEOUT, JSON_DEPTH_MAX

#: the answers stored under a key and replayed; any other leaves the key free
STORED_STATUSES = frozenset({404, 409})


class Decision(StrEnum):
    FRESH = "fresh"  # no usable record: answer the request and store the answer
    REPLAY = "replay"  # the stored answer is the answer


def check_key(key: str) -> str:
    """1..255 printable ASCII characters, else ``Invalid``."""
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX:
        raise Invalid(
            f"Idempotency-Key must be 1..{IDEMPOTENCY_KEY_MAX} characters",
            details={"Idempotency-Key": f"length 1..{IDEMPOTENCY_KEY_MAX}"},
        )
    if not (key.isascii() and key.isprintable()):
        raise Invalid(
            "Idempotency-Key must be printable ASCII",
            details={"Idempotency-Key": "printable ASCII characters only"},
        )
    return key


def canonical(value: Any, depth: int = 0) -> Any:
    """``value`` (parsed JSON) with every number that is a whole number as an ``int``,
    so numbers compare by value: ``1``, ``1.0`` and ``1e0`` are one number, ``1.5``
    stays ``1.5``; ``true`` stays ``true`` (a ``bool`` is not the number ``1``).

    The conversion is exact (``int(1e20)`` is the float's own value), so two numbers
    become equal only when their values are. Nesting past ``JSON_DEPTH_MAX`` is
    ``Invalid``.
    """
    if depth > JSON_DEPTH_MAX:
        raise Invalid(
            f"the body is nested deeper than {JSON_DEPTH_MAX} levels",
            details={"body": f"nested deeper than {JSON_DEPTH_MAX} levels"},
        )
    if isinstance(value, bool) or value is None or isinstance(value, str | int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {k: canonical(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v, depth + 1) for v in value]
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def fingerprint(method: str, path: str, body: Any) -> str:
    """Canonical: key order, white space and the spelling of numbers do not matter."""
    text = json.dumps(
        [method.upper(), path, canonical(body)],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(text.encode(errors="surrogatepass")).hexdigest()


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
    """Only ``2xx``, ``404`` and ``409`` answers are stored: after any other (``402``,
    ``422``, ``429``, ``5xx``…) the client may fix or wait and retry with the same key."""
    return 200 <= status < 300 or status in STORED_STATUSES
