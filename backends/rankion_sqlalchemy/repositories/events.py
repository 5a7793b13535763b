"""Calendar events of a project."""

from __future__ import annotations

import builtins

from sqlalchemy import delete, select

from rankion_core.models import CalendarEvent
from rankion_core.ports import EventQuery

from ..queries import event_filters, event_order
from ..tables import calendar_events
from .base import Repository

__all__ = ["EventRepo"]

_c = calendar_events.c


class EventRepo(Repository):
    async def add(self, event: CalendarEvent) -> CalendarEvent:
        return await self._add(event)

    async def get(self, team_id: int, event_id: int) -> CalendarEvent | None:
        stmt = select(CalendarEvent).where(_c.team_id == team_id, _c.id == event_id)
        return await self._first(stmt)

    async def update(self, event: CalendarEvent) -> None:
        await self._update_row(
            calendar_events, event, _c.id == event.id, _c.team_id == event.team_id
        )

    async def delete(self, team_id: int, event_id: int) -> bool:
        stmt = delete(calendar_events).where(_c.team_id == team_id, _c.id == event_id)
        return await self._rowcount(stmt) > 0

    async def list(self, query: EventQuery) -> tuple[builtins.list[CalendarEvent], int]:
        where = event_filters(query)
        stmt = select(CalendarEvent).where(*where).order_by(*event_order(query))
        return await self._page(stmt, calendar_events, where, query.page, query.per_page)
