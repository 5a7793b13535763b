"""Schemathesis hooks for the fuzz run (``SCHEMATHESIS_HOOKS`` points here).

A generated ``Idempotency-Key`` is made unique per request when it is a valid key:
reusing one key for a different body is a *correct* ``422 idempotency_key_reused``
that no schema can express. Reuse itself is tested in ``test_idempotency.py`` and
``test_concurrency.py``. Invalid keys (empty, too long) are left as generated, so
the negative checks still see them rejected.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

import schemathesis

from rankion_core.rules.timeutil import day_bounds

HEADER = "Idempotency-Key"
_serial = itertools.count(1)


@schemathesis.hook
def map_headers(ctx: Any, headers: dict[str, Any] | None) -> dict[str, Any] | None:
    if headers and isinstance(headers.get(HEADER), str) and 1 <= len(headers[HEADER]) <= 255:
        headers[HEADER] = f"fuzz-{next(_serial)}"
    return headers


def _instant(value: Any, end: bool) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            bounds = day_bounds(date.fromisoformat(value))
            return bounds[1] if end else bounds[0]
        return datetime.fromisoformat(value).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


@schemathesis.hook
def filter_query(ctx: Any, query: dict[str, Any] | None) -> bool:
    """Leave out ``from`` later than ``to``: a correct 422 between two parameters that
    a schema cannot relate (each value alone is valid)."""
    if not query:
        return True
    start, end = _instant(query.get("from"), False), _instant(query.get("to"), True)
    return start is None or end is None or start <= end


#: the fuzz server's only token, the one the run is made with (the bootstrap makes it)
RUN_TOKEN_ID = "1"


@schemathesis.hook
def filter_case(ctx: Any, case: Any) -> bool:
    """Never revoke the token the run is made with: every later request would be a
    correct ``401``. Revocation is tested in ``tests/api/test_tokens.py`` and
    ``tests/hostile/test_tokens.py``."""
    operation = case.operation
    if operation.method.upper() != "DELETE" or operation.path != "/v1/tokens/{id}":
        return True
    return str((case.path_parameters or {}).get("id")) != RUN_TOKEN_ID
