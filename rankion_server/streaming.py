"""Stream a blob to the client without holding it in memory.

The first chunk is fetched before the response starts, so a missing blob or a blob
store that is down still answers with a proper error. A failure after the first byte
can only cut the connection: it is logged and the connection is closed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping

from aiohttp import web

from rankion_core.ports import BlobStore

from .logs import kv

log = logging.getLogger("rankion.server")

CONTENT_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "avif": "image/avif",
    "gif": "image/gif",
    "zip": "application/zip",
    "json": "application/json",
}


def content_type_of(key: str) -> str:
    ext = key.rsplit(".", 1)[-1].lower() if "." in key else ""
    return CONTENT_TYPES.get(ext, "application/octet-stream")


async def _close(chunks: AsyncIterator[bytes]) -> None:
    aclose = getattr(chunks, "aclose", None)
    if aclose is not None:
        await aclose()


async def stream_blob(
    request: web.Request,
    blobs: BlobStore,
    key: str,
    *,
    content_type: str,
    headers: Mapping[str, str] | None = None,
) -> web.StreamResponse:
    chunks = blobs.stream(key)
    try:
        first = await anext(chunks, b"")  # NotFound / Unavailable surface here
    except BaseException:
        await _close(chunks)
        raise
    response = web.StreamResponse(headers={"X-Content-Type-Options": "nosniff", **(headers or {})})
    response.content_type = content_type
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
