"""Bulk limits: hard, all-or-nothing."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import Invalid, LimitExceeded


def check_ids(ids: Sequence[int], limit: int) -> list[int]:
    """Validate a bulk ``ids`` list: 1..limit positive integers; duplicates collapse.

    Raises before anything is changed, so a rejected bulk call changes nothing.
    """
    if not ids:
        raise Invalid("ids must not be empty", details={"ids": "at least one id"})
    if len(ids) > limit:
        raise LimitExceeded(
            f"at most {limit} ids per call; send larger sets in chunks",
            code="bulk_limit_exceeded",
            details={"ids": f"{len(ids)} ids, the limit is {limit}", "limit": limit},
        )
    bad = [i for i in ids if isinstance(i, bool) or not isinstance(i, int) or i < 1]
    if bad:
        raise Invalid("ids must be positive integers", details={"ids": "positive integers only"})
    return list(dict.fromkeys(ids))
