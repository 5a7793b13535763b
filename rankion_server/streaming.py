"""Stream a blob to the client without holding it in memory.

The first chunk is fetched before the response starts, so a missing blob or a blob
store that is down still answers with a proper error. A failure after the first byte
can only cut the connection: it is logged and the connection is closed.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Mapping

from aiohttp import web

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
    if path is None:
        etag = content.etag
        if not_modified(request, etag):
            return web.Response(status=304, headers={"ETag": f'"{etag}"', **(headers or {})})
        headers = {"ETag": f'"{etag}"', **(headers or {})}
        return await stream_blob(request, content, headers)
    if not await asyncio.to_thread(os.path.isfile, path):
        raise NotFound("file")
    response = web.FileResponse(
        path, headers={"X-Content-Type-Options": "nosniff", **(headers or {})}
    )
    response.content_type = content.content_type
    return response


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
