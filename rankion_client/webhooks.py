"""Checking a webhook delivery on the receiving side."""

from __future__ import annotations

import time
from collections.abc import Mapping

from rankion_core.rules.webhooks import (
    DEFAULT_TOLERANCE,
    SIGNATURE_HEADER,
    STANDARD_SIGNATURE,
    verify,
    verify_standard,
)

__all__ = ["SIGNATURE_HEADER", "verify_signature"]


def verify_signature(
    secret: str,
    headers: Mapping[str, str] | str,
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether a delivery's raw ``body`` is signed with ``secret`` and its timestamp is
    within ``tolerance`` seconds of ``now``.

    ``headers`` is the request's headers (any mapping; names are matched without
    regard to case): the Standard Webhooks headers (``webhook-id``,
    ``webhook-timestamp``, ``webhook-signature``) are checked when present, else
    ``Rankion-Signature``. A plain string is taken as the ``Rankion-Signature`` value.
    """
    at = time.time() if now is None else now
    if isinstance(headers, str):
        return verify(secret, headers, body, at, tolerance)
    sent = {name.lower(): value for name, value in headers.items()}
    if STANDARD_SIGNATURE in sent:
        return verify_standard(secret, sent, body, at, tolerance)
    return verify(secret, sent.get(SIGNATURE_HEADER.lower(), ""), body, at, tolerance)
