"""One small hierarchy of errors, each with a stable ``code`` from the contract.

The server maps these classes to HTTP statuses in exactly one place; an embedding
app catches them directly. Each also subclasses the closest stdlib type, so
``except LookupError`` keeps working for people who do not know Rankion.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "HTTP_STATUS",
    "Conflict",
    "InsufficientCredits",
    "Invalid",
    "LimitExceeded",
    "NotFound",
    "ProviderRejected",
    "ProviderUnavailable",
    "RankionError",
    "RateLimited",
    "Unavailable",
    "http_status",
]


class RankionError(Exception):
    """Root of every error Rankion raises on purpose."""

    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class NotFound(RankionError, LookupError):
    """Absent, or another team's: the two are indistinguishable on purpose."""

    code = "not_found"

    def __init__(self, what: str = "resource") -> None:
        # Never echo the requested id: a 404 must be identical for every id.
        super().__init__(f"{what} not found")


class Conflict(RankionError):
    """The request is valid but the current state forbids it (HTTP 409)."""

    code = "conflict"


class Invalid(RankionError, ValueError):
    """Validation failed (HTTP 422); ``details`` maps field names to messages."""

    code = "validation_error"


class LimitExceeded(Invalid):
    """A hard limit (bulk sizes) was exceeded; nothing was changed."""

    code = "limit_exceeded"


class InsufficientCredits(RankionError):
    """The team's balance does not cover the charge (HTTP 402)."""

    code = "insufficient_credits"

    def __init__(self, needed: int, balance: int) -> None:
        super().__init__(
            f"not enough credits: this needs {needed} and the team has {balance}; "
            "ask the operator for more (they add them with `rankion credits grant`), "
            "and see the balance at GET /v1/credits",
            details={"needed": needed, "balance": balance},
        )


class RateLimited(RankionError):
    """Too many requests or concurrent jobs for the team (HTTP 429)."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class Unavailable(RankionError, ConnectionError):
    """A backend (storage, blobs, provider) is down (HTTP 503)."""

    code = "unavailable"


class ProviderRejected(RankionError):
    """The image provider refused the request for good (content policy, bad input).

    A job that meets this ends ``failed`` with the message shown to the user; it is
    not retried.
    """

    code = "provider_rejected"


class ProviderUnavailable(Unavailable):
    """A transient provider failure (429, 5xx, timeout): the job is retried later."""

    code = "provider_unavailable"

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


#: The HTTP status of each error, for whatever serves Rankion over HTTP (the reference
#: server extends it with its own request errors; an embedding app maps its own).
#: The nearest class in an error's MRO decides; ``LimitExceeded`` is an ``Invalid``,
#: ``ProviderUnavailable`` an ``Unavailable``.
HTTP_STATUS: Mapping[type[RankionError], int] = {
    InsufficientCredits: 402,
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    ProviderRejected: 422,
    RateLimited: 429,
    Unavailable: 503,
}


def http_status(exc: RankionError, table: Mapping[type[RankionError], int] = HTTP_STATUS) -> int:
    """The HTTP status of ``exc`` by ``table``; 500 for an error it does not know."""
    for cls in type(exc).__mro__:
        if cls in table:
            return table[cls]
    return 500
