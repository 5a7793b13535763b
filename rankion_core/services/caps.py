"""The per-team count caps of what a team makes without paying for it: projects,
calendar events, chat sessions (``Deps.max_*``; 0: no cap)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..rules.limits import DELETE_ONE, check_cap


async def check_room(
    what: str,
    limit: int,
    count: Callable[[int], Awaitable[int]],
    team_id: int,
    remedy: str = DELETE_ONE,
) -> None:
    """``LimitExceeded`` when the team already has ``limit`` of ``what``; ``count`` (a
    repository's O(1) ``count``) is not read when there is no cap. Read inside the unit
    of work that adds: exact where units of work run one at a time (SQLite, memory); on
    PostgreSQL the count is of committed rows (docs/security.md)."""
    if limit > 0:
        check_cap(what, await count(team_id), limit, remedy)
