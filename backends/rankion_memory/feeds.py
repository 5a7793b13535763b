"""Calendar feed tokens in memory: one row per project, keyed by project id."""

from __future__ import annotations

from rankion_core.models import CalendarFeed

from .tables import Table


class CalendarFeeds:
    def __init__(self, rows: Table[CalendarFeed]) -> None:
        self._rows = rows

    async def put(self, feed: CalendarFeed) -> None:
        self._rows.put(feed.project_id, feed)

    async def get(self, team_id: int, project_id: int) -> CalendarFeed | None:
        feed = self._rows.get(project_id)
        return feed if feed is not None and feed.team_id == team_id else None

    async def find(self, digest: str) -> CalendarFeed | None:
        for feed in self._rows.rows():
            if feed.digest == digest:
                return self._rows.get(feed.project_id)
        return None

    async def delete(self, team_id: int, project_id: int) -> bool:
        if await self.get(team_id, project_id) is None:
            return False
        return self._rows.remove(project_id)
