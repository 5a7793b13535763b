"""In-memory tables with an undo log, so a unit of work can roll back."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

E = TypeVar("E")
_MISSING: Any = object()


class Table(Generic[E]):
    """Rows by key; every write goes through ``put``/``remove`` so it can be undone."""

    def __init__(self, journal: Journal) -> None:
        self._rows: dict[Any, E] = {}
        self._journal = journal
        self._next_id = 1

    def new_id(self) -> int:
        value = self._next_id
        self._next_id += 1
        return value

    def get(self, key: Any) -> E | None:
        row = self._rows.get(key)
        return copy.deepcopy(row) if row is not None else None

    def peek(self, key: Any) -> E | None:
        """The stored row itself, not a copy: read-only use inside the backend."""
        return self._rows.get(key)

    def put(self, key: Any, row: E) -> None:
        self._journal.record(self._rows, key)
        self._rows[key] = copy.deepcopy(row)

    def remove(self, key: Any) -> bool:
        if key not in self._rows:
            return False
        self._journal.record(self._rows, key)
        del self._rows[key]
        return True

    def rows(self) -> Iterator[E]:
        """Stored rows (not copies) for scanning; copy what you hand out."""
        return iter(list(self._rows.values()))


class Journal:
    """The undo log of the open unit of work."""

    def __init__(self) -> None:
        self._undo: list[tuple[dict[Any, Any], Any, Any]] = []

    def record(self, rows: dict[Any, Any], key: Any) -> None:
        self._undo.append((rows, key, rows.get(key, _MISSING)))

    def rollback(self) -> None:
        while self._undo:
            rows, key, old = self._undo.pop()
            if old is _MISSING:
                rows.pop(key, None)
            else:
                rows[key] = old

    def commit(self) -> None:
        self._undo.clear()


def clone(row: E) -> E:
    return copy.deepcopy(row)
