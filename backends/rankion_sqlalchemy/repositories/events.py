"""Calendar events of a project."""

from __future__ import annotations

import builtins
from datetime import date

from sqlalchemy import Date, String, column, delete, func, literal, select, true, union_all, values

from rankion_core.models import CalendarEvent, EventStatus
from rankion_core.ports import DayQuery, EventQuery

from ..queries import event_filters, event_order
from ..tables import calendar_events
from ..types import UTCDateTime
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

    async def day_counts(self, query: DayQuery) -> builtins.list[tuple[date, EventStatus, int]]:
        """One index range count per day and status (``ix_calendar_events_days``): a
        scan of the range in the index, no per-row arithmetic, no sort."""
        if not query.days:
            return []
        days = (
            values(
                column("day", Date),
                column("low", UTCDateTime),
                column("high", UTCDateTime),
                name="days",
            )
            .data(list(query.days))
            .cte("days")
        )
        statuses = union_all(
            *(select(literal(s.value, String(20)).label("status")) for s in EventStatus)
        ).cte("statuses")
        counted = (
            select(func.count())
            .where(
                _c.team_id == query.team_id,
                _c.project_id == query.project_id,
                _c.status == statuses.c.status,
                _c.scheduled_at >= days.c.low,
                _c.scheduled_at <= days.c.high,
            )
            .scalar_subquery()
        )
        pairs = (
            select(days.c.day, statuses.c.status, counted.label("n"))
            .select_from(days.join(statuses, true()))  # every day with every status
            .subquery("pairs")
        )
        stmt = select(pairs.c.day, pairs.c.status, pairs.c.n).where(pairs.c.n > 0)
        rows = (await self.session.execute(stmt)).all()
        return [(_day(day), EventStatus(status), int(n)) for day, status, n in rows]


def _day(value: date | str) -> date:
    """SQLite hands a date back as text."""
    return value if isinstance(value, date) else date.fromisoformat(value)
