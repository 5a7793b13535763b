"""``FsspecBlobStore``: the ``BlobStore`` port over an fsspec async filesystem.

This class owns what every flavour shares: keys are made and checked here, every
storage exception is mapped to ``NotFound``/``Unavailable`` here, and the plain
operations (read whole, delete, stat, list) go through fsspec's async API. The
flavour-specific parts (safe streaming writes, streaming reads, presigning) come
from a ``Backend``: see ``local``, ``memory`` and ``s3``.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import aclosing, suppress
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from rankion_core.errors import Invalid, Unavailable
from rankion_core.ports import Clock

from .backend import Backend
from .failures import guard_source, translate
from .keys import is_key, new_key, require_key

__all__ = ["FsspecBlobStore"]


class FsspecBlobStore:
    """Bytes by key on a local folder, in memory or on S3 (see ``open_blob_store``)."""

    def __init__(self, backend: Backend, *, clock: Clock | None = None) -> None:
        self._backend = backend
        #: False on local and memory stores: ``presign`` always answers None there, so
        #: callers signing many URLs (``rankion_core.services.views.blob_url``) skip it
        self.presigns: bool = backend.presigns
        self._clock = clock
        self._opened = False
        self._opening = asyncio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"FsspecBlobStore({type(self._backend).__name__}, root={self._backend.root!r})"

    # ----------------------------------------------------------------- writing

    async def put(self, data: bytes, *, kind: str, ext: str, content_type: str) -> str:
        """Store ``data`` under a new key: a one-chunk ``put_stream``."""
        key, _ = await self.put_stream(
            _one_chunk(data), kind=kind, ext=ext, content_type=content_type
        )
        return key

    async def put_stream(
        self, chunks: AsyncIterable[bytes], *, kind: str, ext: str, content_type: str
    ) -> tuple[str, int]:
        """Store ``chunks`` under a new key, all or nothing, in flat memory."""
        key = new_key(kind, ext, self._now())
        backend = await self._ready()
        with translate(backend.transient, reading=False):
            size = await backend.write(self._path(key), guard_source(chunks), content_type)
        return key, size

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing blob is fine, a key we never made is ``NotFound``."""
        path = self._path(require_key(key))
        backend = await self._ready()
        with translate(backend.transient, reading=False), suppress(FileNotFoundError):
            await backend.remove(path)

    # ----------------------------------------------------------------- reading

    async def get(self, key: str) -> bytes:
        path = self._path(require_key(key))
        backend = await self._ready()
        with translate(backend.transient, reading=True):
            data = await backend.fs._cat_file(path)
        return bytes(data)

    async def stream(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """Yield the blob in chunks; ``NotFound`` comes on the first step, before any bytes."""
        if chunk_size < 1:
            raise Invalid("chunk_size must be positive", details={"chunk_size": "must be >= 1"})
        path = self._path(require_key(key))
        backend = await self._ready()
        with translate(backend.transient, reading=True):
            async with aclosing(backend.read(path, chunk_size)) as chunks:
                async for chunk in chunks:
                    yield chunk

    async def exists(self, key: str) -> bool:
        if not is_key(key):
            return False
        backend = await self._ready()
        with translate(backend.transient, reading=False):
            try:
                await backend.fs._info(self._path(key))
            except FileNotFoundError:
                return False
        return True

    async def keys(self) -> AsyncIterator[str]:
        """Every key in the store; stray files (temporary parts, foreign names) are skipped."""
        backend = await self._ready()
        with translate(backend.transient, reading=False):
            paths = await backend.fs._find(backend.root)
        prefix = backend.root + "/"
        for path in paths:
            key = path.removeprefix(prefix)
            if path.startswith(prefix) and is_key(key):
                yield key

    def presign(self, key: str, *, expires_at: datetime, filename: str | None = None) -> str | None:
        """A presigned GET URL on S3; None on local and memory stores (``presigns``)."""
        path = self._path(require_key(key))
        expires_in = _seconds_until(expires_at, self._now())
        with translate(self._backend.transient, reading=False):
            return self._backend.presign(path, expires_in, filename)

    def local_file(self, key: str) -> str | None:
        """The file holding ``key`` on a local store (for sendfile); None elsewhere."""
        return self._backend.local_file(self._path(require_key(key)))

    # ----------------------------------------------------------------- lifecycle

    async def ping(self) -> None:
        """Raise ``Unavailable`` unless the storage answers (a missing bucket included)."""
        backend = await self._ready()
        with translate(backend.transient, reading=False):
            await backend.ping()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with translate(self._backend.transient, reading=False):
            await self._backend.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # ----------------------------------------------------------------- helpers

    async def _ready(self) -> Backend:
        """The backend, opened on first use (an S3 session needs a running loop)."""
        if self._closed:
            raise Unavailable("the blob store is closed")
        if not self._opened:
            async with self._opening:
                if not self._opened:
                    with translate(self._backend.transient, reading=False):
                        await self._backend.open()
                    self._opened = True
        return self._backend

    def _path(self, key: str) -> str:
        return f"{self._backend.root}/{key}"

    def _now(self) -> datetime:
        return self._clock.now() if self._clock is not None else datetime.now(UTC)


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _seconds_until(expires_at: datetime, now: datetime) -> int:
    """Whole seconds from ``now`` to ``expires_at`` (rounded up); it must be aware and ahead."""
    if expires_at.tzinfo is None or expires_at.utcoffset() is None:
        raise Invalid("expires_at must be timezone-aware", details={"expires_at": "naive"})
    seconds = math.ceil((expires_at - now).total_seconds())
    if seconds < 1:
        raise Invalid("expires_at must lie in the future", details={"expires_at": "in the past"})
    return seconds
