"""The in-memory flavour: a private fsspec ``MemoryFileSystem`` per name.

``memory://name`` does not use fsspec's process-wide memory store: each name gets
a ``MemoryFileSystem`` with a store of its own, so tests and embedded apps never
see each other's blobs. Stores opened with the same name share the namespace for
as long as one of them is alive; once the last is dropped the bytes are freed and
the next ``memory://name`` starts empty.

A blob is built in a ``MemoryFile`` of its own and published in one assignment once
complete, so a reader never sees half a blob.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable
from weakref import WeakValueDictionary

from fsspec.implementations.asyn_wrapper import AsyncFileSystemWrapper
from fsspec.implementations.memory import MemoryFile, MemoryFileSystem

__all__ = ["MemoryBackend"]

_NAMESPACES: WeakValueDictionary[str, MemoryFileSystem] = WeakValueDictionary()


def _namespace(name: str) -> MemoryFileSystem:
    """The live memory filesystem called ``name``, or a new empty one."""
    memory = _NAMESPACES.get(name)
    if memory is None:
        memory = MemoryFileSystem(skip_instance_cache=True)
        # What newer fsspec calls ``global_store=False``, done by hand for older releases.
        memory.store, memory.pseudo_dirs = {}, [""]
        _NAMESPACES[name] = memory
    return memory


class MemoryBackend:
    """Blobs in this process's memory, under the namespace ``name``."""

    transient: tuple[type[BaseException], ...] = ()
    presigns = False  # the core signs a URL that the server serves

    def __init__(self, name: str) -> None:
        self._memory = _namespace(name)
        # not fsspec's instance cache: a cached wrapper would keep the namespace alive
        self.fs = AsyncFileSystemWrapper(self._memory, asynchronous=True, skip_instance_cache=True)
        self.root = "/blobs"

    async def open(self) -> None:
        pass

    async def write(self, path: str, chunks: AsyncIterable[bytes], content_type: str) -> int:
        # No back-reference from the file to the filesystem (fs=None): no reference
        # cycle, so a dropped namespace is freed at once rather than by the GC.
        file = MemoryFile(None, path)
        async for chunk in chunks:
            file.write(chunk)
        self._memory.store[path] = file
        return int(file.size)

    async def read(self, path: str, chunk_size: int) -> AsyncGenerator[bytes, None]:
        start = 0
        while True:
            chunk = bytes(await self.fs._cat_file(path, start=start, end=start + chunk_size))
            if chunk:
                yield chunk
            if len(chunk) < chunk_size:
                return
            start += len(chunk)

    def presign(self, path: str, expires_in: int, filename: str | None) -> str | None:
        return None  # the core signs a URL that the server serves

    async def remove(self, path: str) -> None:
        await self.fs._rm_file(path)

    def local_file(self, path: str) -> str | None:
        return None

    async def ping(self) -> None:
        pass

    async def close(self) -> None:
        pass
