"""Errors the client raises: one per status of the contract, each carrying its ``code``."""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "ApiWarning",
    "BadRequest",
    "Conflict",
    "InsufficientCredits",
    "JobFailed",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "ServerUnreachable",
    "Unauthorized",
    "Unavailable",
    "ValidationFailed",
]


class ApiWarning(UserWarning):
    """A write that succeeded but is probably not what was meant: the answer's
    ``warnings`` (``code``, e.g. ``scheduled_in_past``, and ``message``), issued with
    ``warnings.warn``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ApiError(Exception):
    """The server answered with the error envelope ``{"error": {code, message, details?}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.request_id = request_id
        self.retry_after = retry_after

    def __str__(self) -> str:
        """``422 validation_error: … (prompt: too long; tags: …)``: the details too, but
        not one the message already says word for word."""
        text = f"{self.status} {self.code}: {self.message}"
        said = [f"{name}: {why}" for name, why in self.details.items()]
        if unsaid := [part for part in said if part not in self.message]:
            text += f" ({'; '.join(unsaid)})"
        return text


class ServerUnreachable(ConnectionError):
    """No answer at all: the server is not running there, or the network is down."""

    def __init__(self, base_url: str, reason: str) -> None:
        super().__init__(
            f"cannot reach {base_url} ({reason}): is the server running at {base_url}?"
        )
        self.base_url = base_url
        self.reason = reason


class BadRequest(ApiError):
    """400: malformed JSON."""


class Unauthorized(ApiError):
    """401: no token, or one the server does not know."""


class InsufficientCredits(ApiError):
    """402: ``details`` has ``needed`` and ``balance``."""


class NotFound(ApiError):
    """404: absent, or another team's."""


class Conflict(ApiError):
    """409: the state forbids it (``code`` says why)."""


class PayloadTooLarge(ApiError):
    """413."""


class ValidationFailed(ApiError):
    """422: ``details`` maps each bad field to a message."""


class RateLimited(ApiError):
    """429: ``retry_after`` seconds."""


class Unavailable(ApiError):
    """503: storage, blobs or the image provider are down."""


BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    402: InsufficientCredits,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationFailed,
    429: RateLimited,
    503: Unavailable,
}


def error_for(
    status: int, body: Any, request_id: str | None, retry_after: float | None
) -> ApiError:
    """The exception for an error answer (``http_error`` when the body is no envelope)."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": "http_error", "message": f"HTTP {status}"}
    cls = BY_STATUS.get(status, ApiError)
    return cls(
        status,
        str(error.get("code", "http_error")),
        str(error.get("message", "")),
        error.get("details") if isinstance(error.get("details"), dict) else None,
        request_id=request_id,
        retry_after=retry_after,
    )


class JobFailed(Exception):
    """A job (or the image it makes) ended ``failed``; ``error`` is the server's reason."""

    def __init__(self, what: str, error: str | None) -> None:
        super().__init__(f"{what} failed: {error or 'no reason given'}")
        self.error = error
