"""What differs between the local, memory and S3 flavours of the blob store.

``FsspecBlobStore`` does everything the flavours share through the fsspec async
API of ``fs`` (read whole, stat, list) plus key checks and error mapping; a
``Backend`` supplies the parts where the three really differ: how a stream is
written safely, how it is read without loading it whole, how an object is removed
(a folder left empty goes too, on disk), and presigned URLs.
Paths handed to a backend are always ``f"{root}/{key}"`` with a checked key.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from typing import Any, Protocol

__all__ = ["Backend"]


class Backend(Protocol):
    fs: Any
    """An ``fsspec.asyn.AsyncFileSystem`` (fsspec ships no type hints)."""
    root: str
    """The folder (or ``bucket/prefix``) every key lives under, without a trailing slash."""
    transient: tuple[type[BaseException], ...]
    """Exception types besides ``OSError`` that mean the storage is unavailable."""
    presigns: bool
    """Whether ``presign`` hands out URLs at all (False: it always answers None)."""

    async def open(self) -> None:
        """Prepare for use (an S3 session); called once, lazily, before the first call."""
        ...

    async def write(self, path: str, chunks: AsyncIterable[bytes], content_type: str) -> int:
        """Store ``chunks`` at ``path`` all or nothing, with flat memory; the size written."""
        ...

    def read(self, path: str, chunk_size: int) -> AsyncGenerator[bytes, None]:
        """Yield the object at ``path`` in chunks of at most ``chunk_size`` bytes."""
        ...

    async def remove(self, path: str) -> None:
        """Remove the object at ``path``; ``FileNotFoundError`` when there is none."""
        ...

    def presign(self, path: str, expires_in: int, filename: str | None) -> str | None:
        """A credential-free GET URL valid ``expires_in`` seconds, or None."""
        ...

    def local_file(self, path: str) -> str | None:
        """``path`` itself when objects are files on this machine's disk, else None."""
        ...

    async def ping(self) -> None:
        """Raise when the storage cannot be reached."""
        ...

    async def close(self) -> None: ...
