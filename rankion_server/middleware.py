"""The server's middlewares: request id, errors and access log (outer), auth (inner).

- ``X-Request-Id`` is set on every response through ``on_response_prepare`` (so
  streamed answers and error answers carry it too); it is never in a body. A
  well-formed incoming ``X-Request-Id`` is kept, otherwise a new one is made.
- Every error becomes the envelope; anything unexpected is a logged ``500`` with a
  generic message, never a stack trace.
- Routing comes before auth: an unknown path is ``404`` with or without a token, and
  routes marked ``public`` in their ``Op`` need none. After auth, a ``/v1`` query
  parameter the route's ``Op`` does not declare is ``422``.
- One access-log line per request: method, path (no query string, secret path parts
  masked), route template, status, duration, team.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from urllib.parse import quote

from aiohttp import hdrs, web

from rankion_core.errors import RankionError

from .auth import authenticate
from .errors import (
    envelope,
    error_response,
    http_error_response,
    internal_error_response,
    json_error,
    not_found_response,
    status_of,
)
from .keys import ACTOR, RANKION, REQUEST_ID, TOKEN_CACHE
from .limits import EVENT_STREAM, TEAM_HELD, TEAM_REQUESTS, body_in_time, check_write_rate
from .logs import kv
from .missing import unmatched_kind
from .mount import api_path, prefix_of
from .operations import Handler, op_of
from .query import check_known
from .web.session import SESSION_KEY

log = logging.getLogger("rankion.server")
access_log = logging.getLogger("rankion.access")

_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


#: a body that does not decode as its ``Content-Encoding`` or ``Transfer-Encoding``
#: says: aiohttp decodes it as the handler reads it, after routing (unlike ``br``,
#: which it refuses with the headers, see ``surface``)
BODY_NOT_DECODED = envelope("bad_request", "the body does not decode as its encoding headers say")


def request_id(request: web.BaseRequest) -> str:
    """The request's well-formed ``X-Request-Id``, else a new one."""
    given = request.headers.get("X-Request-Id", "")
    return given if _GOOD_ID.fullmatch(given) else os.urandom(16).hex()


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "-"


#: the longest path an access-log line shows (the rest is cut, marked with …)
PATH_LOG_MAX = 200


def _path(request: web.Request) -> str:
    """The path as requested, percent-encoded, without the query string; a path part
    that is a secret (a share or feed token: any ``{…token…}`` of the route) is shown as
    ``…``, so a log never holds a working link."""
    path = request.rel_url.raw_path
    for name, value in request.match_info.items():
        if "token" in name and value:
            path = path.replace(quote(value, safe=""), "…").replace(value, "…")
    return path if len(path) <= PATH_LOG_MAX else path[: PATH_LOG_MAX - 1] + "…"


def _to_response(request: web.Request, exc: Exception) -> web.StreamResponse:
    if isinstance(exc, web.RequestPayloadError):  # met while the handler read the body
        log.info(kv(event="rejected", status=400, error=type(exc).__name__))
        # The rest of the body can be neither read nor skipped: aiohttp would try to
        # drain it after the answer and log the decoding error as unhandled. The body
        # ends here, and the connection with the answer.
        request.content.feed_eof()
        response = json_error(400, BODY_NOT_DECODED)
        response.force_close()
        return response
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            raise exc  # redirects and the like are answers, not errors
        if exc.status == 404:
            app = request.app
            kind = unmatched_kind(app.router, api_path(request), prefix_of(app))
            return not_found_response(f"{kind} not found" if kind else "not found")
        return http_error_response(exc)
    if isinstance(exc, RankionError):
        status = status_of(exc)
        if status >= 500:
            log.warning(kv(event="error", status=status, code=exc.code, detail=exc.message))
        if status != 500:
            return error_response(exc)
    log.exception(kv(event="unhandled", route=_route(request), method=request.method))
    return internal_error_response()


@functools.cache
def _call_site() -> tuple[str, int, str, str | None]:
    """Where the access line is logged from, as ``Logger.findCaller`` finds it (the same
    for every line: looked up once, not by walking the stack per request)."""
    return access_log.findCaller(stacklevel=2)


def _log_access(request: web.Request, status: int, started: float) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return  # the line is not built when nobody reads it
    actor = request.get(ACTOR)
    fields = {
        "method": request.method,
        "path": _path(request),
        "route": _route(request),
        "status": status,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        "team": actor.team_id if actor else "-",
        "request_id": request.get(REQUEST_ID, "-"),
    }
    # what ``access_log.info(line, extra=…)`` makes and hands on, without its stack walk;
    # ``fields`` also rides along for the JSON log format (logs.JsonFormatter)
    path, line, function, _ = _call_site()
    extra = {"fields": fields}
    record = access_log.makeRecord(
        access_log.name, logging.INFO, path, line, kv(**fields), (), None, function, extra
    )
    access_log.handle(record)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[REQUEST_ID] = request_id(request)
    started = time.perf_counter()
    try:
        response = await handler(request)
    except ConnectionResetError:
        _log_access(request, 499, started)  # the client left, or a stream broke off
        raise
    except Exception as exc:  # every error ends as an envelope
        response = _to_response(request, exc)
    _end_unread_encoded_body(request, response)
    _log_access(request, response.status, started)
    return response


def _end_unread_encoded_body(request: web.Request, response: web.StreamResponse) -> None:
    """A request answered before its compressed body was read to the end (a ``401``
    before the body, a ``413``) ends its connection with the answer. To keep the
    connection, aiohttp would read the rest of the body first, for up to 10 s,
    inflating it on the event loop: 1 MB of deflate is 1 GB, a second of the loop for
    every team. A body the handler read (within the size limit) keeps the connection."""
    encoding = request.headers.get(hdrs.CONTENT_ENCODING)
    if encoding is None or encoding.strip().lower() == "identity":
        return
    if request.body_exists and not request.content.is_eof():
        request.content.feed_eof()  # the body ends here: nothing left to drain
        response.force_close()


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    match = request.match_info
    if match.http_exception is not None:
        raise match.http_exception  # 404/405 before auth
    op = op_of(match.handler)
    who = None
    if op is None or not op.public:
        app = request.app
        key = app.get(SESSION_KEY)  # browser sessions (web.session) when the app is on
        request[ACTOR] = who = await authenticate(request, app[RANKION], app[TOKEN_CACHE], key)
    if op is not None and api_path(request).startswith("/v1/"):
        check_known(request.query, op.params)
    if who is None:  # a public route: its body in time; its team's slot if it finds one
        await body_in_time(request)
        try:
            return await handler(request)
        finally:
            held = request.get(TEAM_HELD)
            if held is not None:
                await held.__aexit__(None, None, None)
    if op is not None and op.media == EVENT_STREAM:
        check_write_rate(request, who.team_id)
        return await handler(request)  # streams are held to a limit of their own
    async with request.app[TEAM_REQUESTS].hold(who.team_id, lambda: body_in_time(request)):
        # a change's token is spent once it is let in: one refused its slot spent none
        check_write_rate(request, who.team_id)
        return await handler(request)


async def add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the request id header on every response."""
    request_id = request.get(REQUEST_ID)
    if request_id is not None:
        response.headers["X-Request-Id"] = request_id
