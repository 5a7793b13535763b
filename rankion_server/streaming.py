"""Stream a blob to the client without holding it in memory.

The first chunk is fetched before the response starts, so a missing blob or a blob
store that is down still answers with a proper error. A failure after the first byte
can only cut the connection: it is logged and the connection is closed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import stat
from collections.abc import AsyncIterator, Mapping

from aiohttp import hdrs, web

from rankion_core.errors import NotFound
from rankion_core.services.files import BlobContent

from .logs import kv

log = logging.getLogger("rankion.server")


async def _close(chunks: AsyncIterator[bytes]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


def not_modified(request: web.Request, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (or is ``*``)."""
    tags = request.if_none_match
    return bool(tags) and any(t.value in (etag, "*") for t in tags or ())


async def send_blob(
    request: web.Request, content: BlobContent, headers: Mapping[str, str] | None = None
) -> web.StreamResponse:
    """Send a blob: with sendfile when the store keeps it as a local file (aiohttp's
    ``FileResponse``, which also answers ``Range`` and ``If-Modified-Since``), else
    streamed with ``content.etag``. A missing blob is ``NotFound`` either way."""
    path = content.local_file()
    if path is not None:
        size = await asyncio.to_thread(_file_size, path)
        if size is None:
            raise NotFound("file")
        if _file_answers_range(request, size):
            response = web.FileResponse(
                path, headers={"X-Content-Type-Options": "nosniff", **(headers or {})}
            )
            response.content_type = content.content_type
            return response
    etag = content.etag
    if not_modified(request, etag):
        return web.Response(status=304, headers={"ETag": f'"{etag}"', **(headers or {})})
    headers = {"ETag": f'"{etag}"', **(headers or {})}
    return await stream_blob(request, content, headers)


def _file_size(path: str) -> int | None:
    """The size of the regular file at ``path``; None when there is none."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_size if stat.S_ISREG(found.st_mode) else None


#: ``bytes=-0``, ``bytes=-00``: the last zero bytes, which no file has
_NO_SUFFIX = re.compile(r"\s*bytes\s*=\s*-0+\s*")
#: headers whose conditions ``FileResponse`` answers before a ``Range``
_CONDITIONS = (
    hdrs.IF_MATCH,
    hdrs.IF_NONE_MATCH,
    hdrs.IF_MODIFIED_SINCE,
    hdrs.IF_UNMODIFIED_SINCE,
    hdrs.IF_RANGE,
)


def _file_answers_range(request: web.Request, size: int) -> bool:
    """Whether ``FileResponse`` answers the request (False: the whole file is streamed,
    ``200``). With a condition (``If-None-Match``, ``If-Range``, …) it does, conditions
    first (a ``304`` before a ``Range``). Otherwise a ``Range`` it would refuse with an
    empty body typed as the image is: ignored when it is not one range of bytes
    (another unit, several ranges, not well formed: RFC 9110 lets a server send the
    whole file); ``416`` in the error envelope, with ``Content-Range: bytes */size``,
    when it starts past the end or asks for the last zero bytes (which it answered with
    the whole file as ``206``)."""
    header = request.headers.get(hdrs.RANGE)
    if header is None or any(name in request.headers for name in _CONDITIONS):
        return True
    unit, _, ranges = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in ranges:
        return False
    try:
        wanted = request.http_range
    except ValueError:
        return False
    past = wanted.start is not None and wanted.start >= size > 0
    if past or _NO_SUFFIX.fullmatch(header):
        raise web.HTTPRequestRangeNotSatisfiable(headers={"Content-Range": f"bytes */{size}"})
    return True


async def stream_blob(
    request: web.Request, content: BlobContent, headers: Mapping[str, str] | None = None
) -> web.StreamResponse:
    chunks = content.chunks()
    try:
        first = await anext(chunks, b"")  # NotFound / Unavailable surface here
    except BaseException:
        await _close(chunks)
        raise
    response = web.StreamResponse(headers={"X-Content-Type-Options": "nosniff", **(headers or {})})
    response.content_type = content.content_type
    await response.prepare(request)
    try:
        await response.write(first)
        async for chunk in chunks:
            await response.write(chunk)
    except Exception as exc:
        log.warning(kv(event="stream_failed", error=type(exc).__name__))
        response.force_close()
        raise ConnectionResetError("the blob stream broke off") from exc
    finally:
        await _close(chunks)
    await response.write_eof()
    return response
