"""Turns per team: at most ``size`` of a team's callers at once, the others waiting in
order; a team with nobody in or waiting is forgotten (no state per idle team).

The one gate behind every per-team "one at a time" of the product: the server's
requests answered at once (``rankion_server.limits.TeamRequests``), a team's feed
refreshes (``rankion_server.ics.FeedCache``), a team's answers on SQLite's readers
(``rankion_sqlalchemy.sqlite_reads``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

__all__ = ["TeamTurns"]


class TeamTurns:
    def __init__(self, size: int = 1) -> None:
        self.size = size
        #: per team with a caller: its slots, and how many callers it has (in or waiting)
        self._teams: dict[int, tuple[asyncio.Semaphore, list[int]]] = {}

    def count(self, team_id: int) -> int:
        """The team's callers: in their turn or waiting for it."""
        found = self._teams.get(team_id)
        return found[1][0] if found else 0

    @contextlib.asynccontextmanager
    async def turn(
        self,
        team_id: int,
        *,
        wait: float | None = None,
        late: Callable[[], BaseException] | None = None,
        first: Callable[[], Awaitable[None]] | None = None,
    ) -> AsyncIterator[None]:
        """The team's turn while the block runs. ``first`` is awaited before the turn is
        asked for, the caller already counted; past ``wait`` seconds of waiting,
        ``late()`` is raised (``TimeoutError`` without it)."""
        slots, callers = self._teams.setdefault(team_id, (asyncio.Semaphore(self.size), [0]))
        callers[0] += 1
        try:
            if first is not None:
                await first()
            if wait is not None and slots.locked():
                try:
                    async with asyncio.timeout(wait):
                        await slots.acquire()
                except TimeoutError:
                    if late is None:
                        raise
                    raise late() from None
            else:
                await slots.acquire()  # free: taken at once, without a timer
            try:
                yield
            finally:
                slots.release()
        finally:
            callers[0] -= 1
            if not callers[0]:
                del self._teams[team_id]
