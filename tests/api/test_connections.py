"""Connections of the served app: an idle one is closed, whether it finished a request
or never sent a whole head; the process may hold as many as its hard limit of files."""

from __future__ import annotations

import asyncio
import logging
import resource

from aiohttp import web

from rankion_server.surface import IDLE_SECONDS, OutOfFiles, QuietAppRunner, raise_open_files


async def _ok(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _served(**options: float) -> tuple[QuietAppRunner, int]:
    app = web.Application()
    app.router.add_get("/", _ok)
    runner = QuietAppRunner(app, **options)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, runner.addresses[0][1]


async def test_a_connection_that_never_finishes_its_head_is_closed_when_idle() -> None:
    runner, port = await _served(keepalive_timeout=0.3)
    try:
        trickling = await asyncio.open_connection("127.0.0.1", port)
        silent = await asyncio.open_connection("127.0.0.1", port)
        answered = await asyncio.open_connection("127.0.0.1", port)
        trickling[1].write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        answered[1].write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await answered[0].readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        await answered[0].readexactly(2)
        for reader, writer in (trickling, silent, answered):
            # the server closes each: the read ends (a guard of 10 s, not a measure)
            assert await asyncio.wait_for(reader.read(), 10) == b""
            writer.close()
    finally:
        await runner.cleanup()


def test_connections_idle_fifteen_seconds_by_default() -> None:
    runner = QuietAppRunner(web.Application())
    assert runner._kwargs["keepalive_timeout"] == IDLE_SECONDS == 15.0
    assert QuietAppRunner(web.Application(), keepalive_timeout=3)._kwargs["keepalive_timeout"] == 3


def test_the_soft_limit_of_open_files_is_raised_to_the_hard_one() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 256), hard))
        assert raise_open_files() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_running_out_of_files_is_logged_once_in_a_while() -> None:
    now = [0.0]
    kept = OutOfFiles(every=10, clock=lambda: now[0])

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("asyncio", logging.ERROR, __file__, 1, message, None, None)

    refused = f"{OutOfFiles.MESSAGE}\nsocket: <fd=9>"
    assert kept.filter(record(refused))
    assert [kept.filter(record(refused)) for _ in range(500)] == [False] * 500
    assert kept.filter(record("another error"))  # only that one is thinned out
    now[0] = 10.0
    later = record(refused)
    assert kept.filter(later) and "(500 more left out of the log)" in later.getMessage()
