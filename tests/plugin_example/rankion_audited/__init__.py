"""A worked example of a third-party storage backend: ``audited://``.

It extends the in-memory backend (every port, its locking and rollback) and counts
the units of work that committed, the way a real backend might add an audit log or
a cache in front of another store. Registered under the ``rankion.storage`` entry-point group (see
``pyproject.toml`` beside this package), so ``rankion serve --database audited://``
and ``rankion_server.wiring.open_storage("audited://")`` find it by URL scheme.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from rankion_memory import MemoryStorage, MemoryUnitOfWork

__all__ = ["AuditedStorage", "open_storage"]


class AuditedUnitOfWork:
    """The memory backend's unit of work; its repositories are used as they are."""

    def __init__(self, storage: AuditedStorage, inner: MemoryUnitOfWork) -> None:
        self._storage = storage
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)  # teams, images, jobs, … every repository

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self._inner.commit()
        self._storage.commits += 1

    async def rollback(self) -> None:
        await self._inner.rollback()


class AuditedStorage(MemoryStorage):
    """The memory backend with a count of committed units of work (``commits``)."""

    def __init__(self) -> None:
        super().__init__()
        self.commits = 0

    def unit_of_work(self) -> AuditedUnitOfWork:  # type: ignore[override]
        return AuditedUnitOfWork(self, super().unit_of_work())


def open_storage(url: str, **options: Any) -> AuditedStorage:
    """The entry point: called with the database URL (``audited://…``)."""
    return AuditedStorage()
