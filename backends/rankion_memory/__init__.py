"""Every storage port of ``rankion_core`` in memory: for tests, and for apps that
embed Rankion without a database."""

from __future__ import annotations

from .storage import MemoryStorage, MemoryUnitOfWork, open_storage

__all__ = ["MemoryStorage", "MemoryUnitOfWork", "open_storage"]
