"""Calendar feed tokens: one row per project."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from rankion_core.models import CalendarFeed

from ..rows import rows_of
from ..tables import calendar_feeds
from .base import Repository

__all__ = ["CalendarFeedRepo"]

_c = calendar_feeds.c
_FEED = rows_of(CalendarFeed)


class CalendarFeedRepo(Repository):
    async def put(self, feed: CalendarFeed) -> None:
        values = {"team_id": feed.team_id, "digest": feed.digest, "created_at": feed.created_at}
        stmt = (
            self._insert(calendar_feeds)
            .values(project_id=feed.project_id, **values)
            .on_conflict_do_update(index_elements=[_c.project_id], set_=values)
        )
        await self.session.execute(stmt)

    async def _one(self, *where: Any) -> CalendarFeed | None:
        return await self._first(_FEED, _FEED.select().where(*where))

    async def get(self, team_id: int, project_id: int) -> CalendarFeed | None:
        return await self._one(_c.team_id == team_id, _c.project_id == project_id)

    async def find(self, digest: str) -> CalendarFeed | None:
        return await self._one(_c.digest == digest)

    async def delete(self, team_id: int, project_id: int) -> bool:
        stmt = delete(calendar_feeds).where(_c.team_id == team_id, _c.project_id == project_id)
        return await self._rowcount(stmt) > 0
