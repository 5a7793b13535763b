"""In-memory tables with an undo log, so a unit of work can roll back."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

E = TypeVar("E")
_MISSING: Any = object()


class Table(Generic[E]):
    """Rows by key; every write goes through ``put``/``remove`` so it can be undone.
    ``per_team``: the rows (each with a ``team_id``) are counted per team as they come
    and go (``count``), undone with them."""

    def __init__(self, journal: Journal, *, per_team: bool = False) -> None:
        self._rows: dict[Any, E] = {}
        self._journal = journal
        self._next_id = 1
        self._per_team: dict[int, int] | None = {} if per_team else None

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
        old = self._rows.get(key)
        self._journal.record(self._rows, key)
        self._rows[key] = copy.deepcopy(row)
        self._recount(old, -1)
        self._recount(row, 1)

    def remove(self, key: Any) -> bool:
        if key not in self._rows:
            return False
        self._journal.record(self._rows, key)
        self._recount(self._rows.pop(key), -1)
        return True

    def count(self, team_id: int) -> int:
        """The team's rows (a table made ``per_team``)."""
        assert self._per_team is not None, "a table counted per team"
        return self._per_team.get(team_id, 0)

    def _recount(self, row: E | None, step: int) -> None:
        if self._per_team is None or row is None:
            return
        team_id = row.team_id  # type: ignore[attr-defined]
        self._journal.record(self._per_team, team_id)
        self._per_team[team_id] = self._per_team.get(team_id, 0) + step

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
