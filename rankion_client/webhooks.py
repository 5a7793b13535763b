"""Checking a webhook delivery on the receiving side."""

from __future__ import annotations

import time

from rankion_core.rules.webhooks import DEFAULT_TOLERANCE, SIGNATURE_HEADER, verify

__all__ = ["SIGNATURE_HEADER", "verify_signature"]


def verify_signature(
    secret: str,
    header: str,
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether ``header`` (the ``Rankion-Signature`` value) signs the raw ``body`` with
    ``secret`` and its timestamp is within ``tolerance`` seconds of ``now``."""
    return verify(secret, header, body, time.time() if now is None else now, tolerance)
