"""Calendar feed tokens: one row per project (plain Core statements, no mapping)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from rankion_core.models import CalendarFeed

from ..tables import calendar_feeds
from .base import Repository

__all__ = ["CalendarFeedRepo"]

_c = calendar_feeds.c


def _feed(row: Any) -> CalendarFeed:
    return CalendarFeed(
        project_id=row.project_id, team_id=row.team_id, digest=row.digest, created_at=row.created_at
    )


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
        row = (await self.session.execute(select(calendar_feeds).where(*where))).first()
        return _feed(row) if row is not None else None

    async def get(self, team_id: int, project_id: int) -> CalendarFeed | None:
        return await self._one(_c.team_id == team_id, _c.project_id == project_id)

    async def find(self, digest: str) -> CalendarFeed | None:
        return await self._one(_c.digest == digest)

    async def delete(self, team_id: int, project_id: int) -> bool:
        stmt = delete(calendar_feeds).where(_c.team_id == team_id, _c.project_id == project_id)
        return await self._rowcount(stmt) > 0
