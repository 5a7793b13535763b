"""A quiet surface: what the server tells strangers about itself, and how it answers
requests that aiohttp rejects before any route or middleware sees them.

- Every answer says ``Server: rankion``: no Python or aiohttp version, and carries an
  ``X-Request-Id``, these too (a new one: the request's headers were never parsed). Routed answers
  get it through ``on_response_prepare`` (``server_header``); the others from
  ``QuietRequestHandler``.
- A request aiohttp cannot parse (a request line or header longer than 8190 bytes,
  more than 128 headers, a ``Content-Encoding`` it cannot decode such as ``br``, bytes
  that are not HTTP) is answered by aiohttp's ``RequestHandler.handle_error`` in plain
  text, and logged with the parser's message, which quotes the offending bytes, and a
  traceback. aiohttp has no public hook for it, so ``rankion serve`` runs its
  connections with ``QuietRequestHandler``: the answer is the error envelope, the log
  line names the error's class and never a byte of the request.
- A connection is closed once it has been idle ``IDLE_SECONDS``: after its last
  answer, or from its start while its first request's head has not all come (aiohttp's
  keep-alive timer, whose default is an hour). Connections that send nothing, or
  trickle a header line now and then, no longer pile up until the process runs out of
  file descriptors; ``run`` also raises the process's soft limit of open files to
  its hard limit, as servers do, and lets asyncio say once in 10 s (not for every
  refused ``accept()``) that the process is out of them.
- What stays aiohttp's: the status of a parse error is decided by the parser (we only
  choose the body, ``Server`` header and log line), and the connection is closed after
  it; a request line so broken that no answer can be written just closes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import signal
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import ContentEncodingError, LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from .errors import HTTP_CODES, envelope
from .logs import kv
from .middleware import request_id

__all__ = ["SERVER", "QuietAppRunner", "QuietRequestHandler", "run", "server_header"]

log = logging.getLogger("rankion.server")

#: the one ``Server`` header value: the product, no version
SERVER = "rankion"

#: seconds a connection may stay idle: after an answer, or before its first request's
#: head is all in (a client's own keep-alive is usually shorter: browsers keep 60 s or
#: less, and open a new connection when this one is gone)
IDLE_SECONDS = 15.0

#: errors of aiohttp's parser: (status, code, message); the first class that matches wins
PARSE_ERRORS: tuple[tuple[type[Exception], int, str, str], ...] = (
    (LineTooLong, 431, "header_too_large", "a request line or header is too long"),
    (ContentEncodingError, 415, "unsupported_encoding", "this Content-Encoding is not supported"),
)


async def server_header(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: ``Server: rankion`` instead of aiohttp's version banner."""
    response.headers["Server"] = SERVER


def _answer(status: int, exc: BaseException | None) -> tuple[int, str, str]:
    if status < 500:
        for cls, parse_status, code, message in PARSE_ERRORS:
            if isinstance(exc, cls):
                return parse_status, code, message
    code, message = HTTP_CODES.get(status, ("http_error", "the request could not be handled"))
    if status == 400:
        message = "the request is not valid HTTP"
    if status >= 500:
        code, message = "internal_error", "something went wrong on our side"
    return status, code, message


class QuietRequestHandler(RequestHandler):
    """aiohttp's connection handler, answering its own errors in the error envelope and
    logging them without the request's bytes."""

    __slots__ = ()

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        status, code, text = _answer(status, exc)
        error = type(exc).__name__ if exc is not None else "-"
        if status >= 500 and exc is not None and not isinstance(exc, ConnectionError):
            log.error(kv(event="unhandled", status=status, error=error), exc_info=exc)
        else:
            log.info(kv(event="rejected", status=status, error=error))
        if request.writer.output_size > 0:  # the answer has begun: only closing is left
            raise ConnectionError("the response had started; the connection is closed")
        response = web.Response(
            status=status,
            body=envelope(code, text),
            content_type="application/json",
            headers={"Server": SERVER, "X-Request-Id": request_id(request)},
        )
        response.force_close()
        return response


class _QuietServer(web.Server):
    """``web.Server`` whose connections are ``QuietRequestHandler``s."""

    def __call__(self) -> RequestHandler:
        handler = super().__call__()
        handler.__class__ = QuietRequestHandler  # same slots, quieter errors
        return handler


class QuietAppRunner(web.AppRunner):
    """``web.AppRunner`` serving through ``QuietRequestHandler``, its connections
    closed after ``IDLE_SECONDS`` idle (``keepalive_timeout``) unless told otherwise."""

    __slots__ = ()

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        kwargs.setdefault("keepalive_timeout", IDLE_SECONDS)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _QuietServer  # adds behaviour only, no state
        return server


async def _serve(app: web.Application, host: str, port: int, started: Callable[[], None]) -> None:
    # access_log=None: the app's middleware logs every request (rankion.access)
    runner = QuietAppRunner(app, access_log=None)
    await runner.setup()
    # A signal only sets the event: the cleanup below runs inside this task while the
    # job workers still run, so they finish the jobs in hand. (aiohttp's own handlers
    # raise GracefulExit out of the loop, and asyncio.run then cancels every task at
    # once, the workers mid-job included.)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await web.TCPSite(runner, host, port).start()
        started()
        await stop.wait()
    finally:
        await runner.cleanup()


class OutOfFiles(logging.Filter):
    """asyncio logs each refused ``accept()`` with its traceback, hundreds a second while
    the process is out of files (30 MB of log in 20 s): the first of every ``every``
    seconds passes, saying how many were left out before it."""

    MESSAGE = "socket.accept() out of system resource"

    def __init__(self, every: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.every, self.clock = every, clock
        self._next, self._left_out = float("-inf"), 0

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.MESSAGE):
            return True
        now = self.clock()
        if now < self._next:
            self._left_out += 1
            return False
        self._next = now + self.every
        if self._left_out:
            record.msg = f"{record.msg}\n({self._left_out} more left out of the log)"
            self._left_out = 0
        return True


def raise_open_files() -> int:
    """The soft limit of open files raised to the hard one (a connection is one; the
    usual soft default of 1,024 is soon reached); the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def run(app: web.Application, *, host: str, port: int, started: Callable[[], None]) -> None:
    """Serve ``app`` until SIGTERM or SIGINT, then stop gracefully: the server stops
    taking requests, the app's cleanup stops the workers (the jobs in hand finish)."""
    log.debug(kv(event="open_files", limit=raise_open_files()))
    logging.getLogger("asyncio").addFilter(OutOfFiles())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(app, host, port, started))
