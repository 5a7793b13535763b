"""The local-folder flavour: fsspec's ``LocalFileSystem`` run in worker threads.

Writes are atomic: bytes go to ``.<uuid>.part`` in the blob's own folder, are
fsynced, then ``os.replace``d onto the key, so a crash leaves at worst a hidden
``.part`` file (never listed as a key), never half a blob under a real key. Removing
a blob removes the folders it leaves empty (a job's previews have a folder of their
own, ``previews-{job}/yyyy/mm``, which would otherwise stay behind empty, three per
job); a write that finds its folder just removed makes it again. Every
blocking call runs in ``asyncio.to_thread``; small chunks are batched into 1 MiB
writes so a stream of tiny chunks does not cost a thread hop each.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncGenerator, AsyncIterable
from typing import BinaryIO

from fsspec.implementations.asyn_wrapper import AsyncFileSystemWrapper
from fsspec.implementations.local import LocalFileSystem, make_path_posix

from rankion_core.errors import Unavailable

__all__ = ["LocalBackend"]

_WRITE_BATCH = 1 << 20
#: how often a write makes its folder again when a removal takes it each time
_FOLDER_TRIES = 3


class LocalBackend:
    """Blobs as files under ``root`` (created on first use if missing)."""

    transient: tuple[type[BaseException], ...] = ()
    presigns = False  # the core signs a URL that the server serves

    def __init__(self, root: str) -> None:
        self.root = make_path_posix(os.path.abspath(os.path.expanduser(root))).rstrip("/")
        self.fs = AsyncFileSystemWrapper(LocalFileSystem(), asynchronous=True)

    async def open(self) -> None:
        await asyncio.to_thread(os.makedirs, self.root, exist_ok=True)

    async def write(self, path: str, chunks: AsyncIterable[bytes], content_type: str) -> int:
        """Write to a temporary file beside ``path``, then rename it into place."""
        temp, file = await asyncio.to_thread(_open_temp, os.path.dirname(path))
        try:
            size = await _copy(chunks, file)
            await asyncio.to_thread(_sync_and_close, file)
            await asyncio.to_thread(os.replace, temp, path)
        except BaseException:
            file.close()
            await asyncio.shield(asyncio.to_thread(_remove_quietly, temp))
            raise
        return size

    async def read(self, path: str, chunk_size: int) -> AsyncGenerator[bytes, None]:
        """The file in chunks; a file of one chunk (most images) costs one thread hop:
        opened, read and closed there."""
        file, chunk = await asyncio.to_thread(_open_and_read, path, chunk_size)
        try:
            while chunk:
                yield chunk
                chunk = await asyncio.to_thread(file.read, chunk_size) if not file.closed else b""
        finally:
            file.close()

    async def remove(self, path: str) -> None:
        await asyncio.to_thread(_remove, path, self.root)

    def presign(self, path: str, expires_in: int, filename: str | None) -> str | None:
        return None  # the core signs a URL that the server serves

    def local_file(self, path: str) -> str | None:
        return path

    async def ping(self) -> None:
        if not await asyncio.to_thread(os.access, self.root, os.W_OK | os.X_OK):
            raise Unavailable("the blob folder is missing or not writable")

    async def close(self) -> None:
        pass


async def _copy(chunks: AsyncIterable[bytes], file: BinaryIO) -> int:
    """Write ``chunks`` to ``file`` in batches of about 1 MiB, one thread hop a batch;
    the byte count. A batch is the chunks as they came (``writelines``), never joined:
    copying each byte into a growing buffer cost more than the write itself. A batch
    is written while the next one is made (at most one write in flight), so the
    source's work and the disk's overlap."""
    size = pending = 0
    batch: list[bytes] = []
    writing: asyncio.Future[None] | None = None
    try:
        async for chunk in chunks:
            size += len(chunk)
            pending += len(chunk)
            batch.append(chunk)
            if pending >= _WRITE_BATCH:
                if writing is not None:
                    await asyncio.shield(writing)
                writing = asyncio.ensure_future(asyncio.to_thread(file.writelines, batch))
                batch, pending = [], 0
        if writing is not None:
            await asyncio.shield(writing)
        if batch:
            await asyncio.to_thread(file.writelines, batch)
    finally:
        if writing is not None:
            # the source failed or the caller was cancelled: the file is closed next,
            # never under a write still running in its thread, and a write that failed
            # meanwhile is seen (the first failure is the one raised)
            if not writing.done():
                await asyncio.wait({writing})
            if not writing.cancelled():
                writing.exception()
    return size


def _open_temp(folder: str) -> tuple[str, BinaryIO]:
    """A new hidden temporary file in ``folder`` (made if needed), open for writing.
    The folder is made again when a removal took it, emptied, in between."""
    temp = os.path.join(folder, f".{uuid.uuid4().hex}.part")
    tries = 0
    while True:
        try:
            # ``makedirs`` too: a removal may take an emptied parent between its steps
            os.makedirs(folder, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileNotFoundError:
            tries += 1
            if tries == _FOLDER_TRIES:
                raise
        else:
            return temp, os.fdopen(fd, "wb")


def _remove(path: str, root: str) -> None:
    """Remove the file at ``path``, then each folder above it that is left empty, up
    to ``root`` (kept). A folder that is not empty, or cannot be removed, ends it."""
    os.remove(path)
    folder = os.path.dirname(path)
    while folder.startswith(root + "/"):
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = os.path.dirname(folder)


def _open_and_read(path: str, chunk_size: int) -> tuple[BinaryIO, bytes]:
    """The open file and its first chunk; the file comes back closed when that chunk
    reached its end (as its size was when opened)."""
    file = open(path, "rb")  # noqa: SIM115 (handed on open, or closed here)
    try:
        size = os.fstat(file.fileno()).st_size
        chunk = file.read(chunk_size)
    except BaseException:
        file.close()
        raise
    if len(chunk) >= size:
        file.close()
    return file, chunk


def _sync_and_close(file: BinaryIO) -> None:
    file.flush()
    os.fsync(file.fileno())
    file.close()


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
