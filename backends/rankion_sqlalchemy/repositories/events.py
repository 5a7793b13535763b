"""Calendar events of a project."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Date,
    Integer,
    String,
    bindparam,
    delete,
    exists,
    func,
    insert,
    literal_column,
    select,
    text,
)
from sqlalchemy.sql.dml import ReturningInsert
from sqlalchemy.sql.selectable import TextualSelect

from rankion_core.models import CalendarEvent, EventStatus
from rankion_core.ports import DayQuery, EventQuery

from ..listings import event_statements
from ..rows import rows_of, values_of
from ..tables import calendar_events, projects, webhooks
from ..types import UTCDateTime
from .base import Repository, team_count

__all__ = ["EventRepo", "day_counts_of", "day_counts_statement"]

_c = calendar_events.c
_EVENT = rows_of(CalendarEvent)
_p = projects.c
#: the team's count of events: a column of ``team_counts``
_COUNT = "calendar_events"
#: the columns an event is added with (its id the database's)
_ADDED = [column for column in calendar_events.c if column.name != "id"]
#: built once: the event added if its project is its team's, the team has no
#: webhook and (``capped``) fewer events than ``:limit``; its id and the project's time
#: zone (parameters: the event's columns)
_ADDED_IF = [
    _p.id == bindparam("project_id"),
    _p.team_id == bindparam("team_id"),
    ~exists().where(webhooks.c.team_id == bindparam("team_id")),
]
#: the team's count of events below the cap (no row: none); on SQLite exact, as the
#: statement holds the database; on PostgreSQL the count of committed events
_BELOW_CAP = func.coalesce(team_count(_COUNT).scalar_subquery(), 0) < bindparam(
    "limit",
    type_=BigInteger,  # a cap may be set past a 32-bit integer
)


@cache
def _add_unwatched(capped: bool) -> ReturningInsert[Any]:
    where = [*_ADDED_IF, _BELOW_CAP] if capped else _ADDED_IF
    return (
        insert(calendar_events)
        .from_select(
            [column.name for column in _ADDED],
            select(*(bindparam(column.name, type_=column.type) for column in _ADDED))
            .select_from(projects)
            .where(*where),
        )
        .returning(
            _c.id,
            # written out: SQLAlchemy does not correlate a subquery of ``RETURNING``
            literal_column(
                "(SELECT projects.time_zone FROM projects"
                " WHERE projects.id = calendar_events.project_id)"
            ),
        )
    )


class EventRepo(Repository):
    async def add(self, event: CalendarEvent) -> CalendarEvent:
        return await self._add(event)

    async def add_unwatched(self, event: CalendarEvent, *, limit: int = 0) -> str | None:
        values = values_of(event)
        del values["id"]
        if limit > 0:
            values["limit"] = limit
        row = (await self.session.execute(_add_unwatched(limit > 0), values)).first()
        if row is None:
            return None
        event.id, zone = int(row[0]), row[1]
        return str(zone)

    async def count(self, team_id: int) -> int:
        return await self._team_count(_COUNT, team_id)

    async def get(
        self, team_id: int, event_id: int, *, for_update: bool = False
    ) -> CalendarEvent | None:
        return await self._first_where(_EVENT, lock=for_update, team_id=team_id, id=event_id)

    async def update(self, event: CalendarEvent) -> None:
        await self._update_row(calendar_events, event, ("id", "team_id"))

    async def update_many(self, events: Sequence[CalendarEvent]) -> None:
        await self._update_rows(calendar_events, events, ("id", "team_id"))

    async def delete(self, team_id: int, event_id: int) -> bool:
        stmt = delete(calendar_events).where(_c.team_id == team_id, _c.id == event_id)
        return await self._rowcount(stmt) > 0

    async def list(
        self, query: EventQuery, *, for_update: bool = False, count_limit: int | None = None
    ) -> tuple[builtins.list[CalendarEvent], int]:
        statements, params = event_statements(query, for_update=for_update, count_limit=count_limit)
        return await self._listed(statements, params, query.page, query.per_page, lock=for_update)

    async def day_counts(self, query: DayQuery) -> builtins.list[tuple[date, EventStatus, int]]:
        """One index range count per day and status (``ix_calendar_events_days``): the
        range read from the index alone, no per-row arithmetic, no sort."""
        if not query.days:
            return []
        return day_counts_of(
            (await self.session.execute(*day_counts_statement(self.dialect, query))).all()
        )


def day_counts_statement(dialect: str, query: DayQuery) -> tuple[TextualSelect, dict[str, Any]]:
    """``day_counts``' statement (built once per dialect and number of days) and its
    parameters; ``query.days`` not empty."""
    params: dict[str, Any] = {"team_id": query.team_id, "project_id": query.project_id}
    for n, (day, low, high) in enumerate(query.days):
        params |= {f"day{n}": day, f"low{n}": low, f"high{n}": high}
    return _day_counts(dialect, len(query.days)), params


def day_counts_of(rows: Sequence[Any]) -> builtins.list[tuple[date, EventStatus, int]]:
    """``day_counts``' answer from its statement's rows."""
    return [(_day(day), EventStatus(status), int(n)) for day, status, n in rows if n]


#: how a day's bounds are written per dialect (PostgreSQL types a bare VALUES as text)
_TYPED = {
    "postgresql": (
        "CAST(:day{n} AS DATE)",
        "CAST(:low{n} AS TIMESTAMPTZ)",
        "CAST(:high{n} AS TIMESTAMPTZ)",
    ),
}
_PLAIN = (":day{n}", ":low{n}", ":high{n}")


@cache
def _day_counts(dialect: str, size: int) -> TextualSelect:
    """The statement for ``size`` days, written once per dialect and size: a plain text
    statement compiles in microseconds (a ``values()`` construct is recompiled on every
    call, which costs more than the counting)."""
    shape = _TYPED.get(dialect, _PLAIN)
    rows = ", ".join("(" + ", ".join(part.format(n=n) for part in shape) + ")" for n in range(size))
    statuses = ", ".join(f"('{s.value}')" for s in EventStatus)  # fixed words, no input
    sql = (
        f"WITH days(day, low, high) AS (VALUES {rows}),"
        f" statuses(status) AS (VALUES {statuses})"
        " SELECT days.day, statuses.status,"
        " (SELECT count(*) FROM calendar_events AS e"
        "  WHERE e.team_id = :team_id AND e.project_id = :project_id"
        "  AND e.status = statuses.status"
        "  AND e.scheduled_at >= days.low AND e.scheduled_at <= days.high) AS n"
        " FROM days CROSS JOIN statuses"
    )
    binds: list[BindParameter[Any]] = [
        bindparam("team_id", type_=Integer),
        bindparam("project_id", type_=Integer),
    ]
    for n in range(size):
        binds += [
            bindparam(f"day{n}", type_=Date()),
            bindparam(f"low{n}", type_=UTCDateTime()),
            bindparam(f"high{n}", type_=UTCDateTime()),
        ]
    # typed result columns: a plan (``compiled.Plans``) knows them before it runs
    return text(sql).bindparams(*binds).columns(day=Date(), status=String(), n=Integer())


def _day(value: date | str) -> date:
    """SQLite hands a date back as text."""
    return value if isinstance(value, date) else date.fromisoformat(value)
