"""Errors to HTTP, in one place: the status table and the error envelope.

``{"error": {"code", "message", "details"?}}`` for every 4xx/5xx; ``details`` names at
most 20 fields (then ``"…": "and N more"``). A 404 names the kind of resource
(``image not found``) and is the same bytes for every id of that kind, whatever was
asked for and whyever it is absent.
"""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web

from rankion_core.errors import HTTP_STATUS, RankionError, http_status

from .convert import MORE, capped, dumps

__all__ = [
    "STATUS",
    "CsrfRefused",
    "MalformedJson",
    "RepeatedHeader",
    "Unauthorized",
    "error_response",
    "http_error_response",
    "not_found_response",
    "one_header",
    "status_of",
]


class MalformedJson(RankionError):
    """The body is not JSON, or not UTF-8 (HTTP 400)."""

    code = "invalid_json"

    def __init__(self) -> None:
        super().__init__("the body is not valid UTF-8 JSON")


class RepeatedHeader(RankionError):
    """A header that must come once came more than once (HTTP 400): which one is meant
    is not ours to guess (a proxy in front may have read the other)."""

    code = "bad_request"

    def __init__(self, name: str) -> None:
        super().__init__(f"send {name} once", details={name: "given more than once"})


def one_header(request: web.Request, name: str) -> str | None:
    """The value of header ``name``; None without it; ``RepeatedHeader`` if repeated."""
    values = request.headers.getall(name, ())
    if len(values) > 1:
        raise RepeatedHeader(name)
    return values[0] if values else None


class Unauthorized(RankionError):
    """No bearer token, or one we do not know (HTTP 401)."""

    code = "unauthorized"


class CsrfRefused(RankionError):
    """A write made with the session cookie without the session's CSRF token (HTTP 403)."""

    code = "csrf_failed"


#: The one table: the core's statuses, and the server's own request errors.
STATUS: dict[type[RankionError], int] = {
    **HTTP_STATUS,
    MalformedJson: 400,
    RepeatedHeader: 400,
    Unauthorized: 401,
    CsrfRefused: 403,
}

#: aiohttp's own HTTP errors (routing, body size) and their codes
HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("bad_request", "the request is malformed"),
    404: ("not_found", "not found"),
    405: ("method_not_allowed", "this method is not allowed on this path"),
    408: ("request_timeout", "the body did not all come in time"),
    413: ("payload_too_large", "the body is larger than the server accepts"),
    416: (
        "range_not_satisfiable",
        "the Range header asks for no part of this file (one range of bytes within it)",
    ),
}


@functools.cache
def _not_found_body(message: str) -> bytes:
    return dumps({"error": {"code": "not_found", "message": message}})


INTERNAL_BODY = dumps(
    {"error": {"code": "internal_error", "message": "something went wrong on our side"}}
)


def status_of(exc: RankionError) -> int:
    """The HTTP status of a core or server error; 500 for one the table does not know."""
    return http_status(exc, STATUS)


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details if MORE in details else capped(details.items(), len(details))
    return dumps({"error": error})


def json_error(status: int, body: bytes, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def not_found_response(message: str = "not found") -> web.Response:
    """The 404 of a kind of resource (``image not found``): the same bytes for every
    id of that kind, whoever's it is and whyever it is absent; ``not found`` for a path
    that names nothing."""
    return json_error(404, _not_found_body(message))


def internal_error_response() -> web.Response:
    return json_error(500, INTERNAL_BODY)


def _headers(exc: RankionError) -> dict[str, str]:
    headers: dict[str, str] = {}
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    retry_after = getattr(exc, "retry_after", None)
    if isinstance(retry_after, int | float) and retry_after > 0:
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return headers


def error_response(exc: RankionError) -> web.Response:
    """The envelope for a core (or server) error; 404 bodies are constant."""
    status = status_of(exc)
    if status == 404:
        return not_found_response(exc.message)
    if status == 500:
        return internal_error_response()
    return json_error(status, envelope(exc.code, exc.message, exc.details), _headers(exc))


def http_error_response(exc: web.HTTPException) -> web.Response:
    """aiohttp's routing and body-size errors, in the envelope (``Allow`` kept on 405)."""
    if exc.status == 404:
        return not_found_response()
    code, message = HTTP_CODES.get(exc.status, ("http_error", exc.reason.lower()))
    kept = ("Allow", "Content-Range")  # 405's methods, 416's size
    headers = {name: exc.headers[name] for name in kept if name in exc.headers} or None
    response = json_error(exc.status, envelope(code, message), headers)
    if exc.status == 408:
        response.force_close()  # the rest of the body was not read: the connection ends
    return response
