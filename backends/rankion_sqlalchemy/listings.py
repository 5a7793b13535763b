"""The statements of the lists whose cost grows with a team's data, built once.

A project's events, the ledger and the trash are each a page and its exact total: a
``count(*)`` over every row of the team (or project) that matches, and an ``OFFSET``
that walks the rows before the page. Each is one SQLAlchemy Core statement here, built
once per shape with its values as named parameters, and run by two callers: the
repositories, through their unit of work's session, and ``SqliteReads``, compiled
once for SQLite (``compiled.Plans``) on its read-only connections, so that the loop
and SQLite's one writer connection never wait for them. One definition, two runners.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import attrs
from sqlalchemy import Integer, Table, bindparam, func, select
from sqlalchemy.sql import Select

from rankion_core.models import CalendarEvent, Image, LedgerEntry
from rankion_core.ports import EventQuery

from .queries import TRASHED, Condition, event_order
from .rows import EntityRows, rows_of
from .tables import calendar_events, images, ledger_entries

__all__ = [
    "PagedStatements",
    "event_statements",
    "ledger_statements",
    "page_values",
    "trash_statements",
]


@attrs.frozen(eq=False)
class PagedStatements:
    """One list: its page (``:limit``, ``:offset``), the page with its rows locked,
    and how many rows it has (all of them; or, built with a limit, no more than
    ``:count_limit``)."""

    rows: EntityRows[Any]
    page: Select[Any]
    locked: Select[Any]
    count: Select[Any]


def paged(
    rows: EntityRows[Any],
    table: Table,
    where: list[Condition],
    order: list[Any],
    *,
    count_limited: bool = False,
) -> PagedStatements:
    limit, offset = bindparam("limit", type_=Integer), bindparam("offset", type_=Integer)
    page = rows.select().where(*where).order_by(*order).limit(limit).offset(offset)
    if count_limited:
        capped = select(table.c.id).where(*where).limit(bindparam("count_limit", type_=Integer))
        count = select(func.count()).select_from(capped.subquery())
    else:
        count = select(func.count()).select_from(table).where(*where)
    return PagedStatements(rows, page, page.with_for_update(), count)


def page_values(page: int, per_page: int) -> dict[str, int]:
    """The ``:limit`` and ``:offset`` of a page."""
    return {"limit": per_page, "offset": (page - 1) * per_page}


#: which of ``EventQuery``'s filters are set, whether the page is locked (ordered by
#: id) and whether its count stops at a limit
_EventShape = tuple[bool, bool, bool, bool, bool, bool, bool]


def event_statements(
    query: EventQuery, *, for_update: bool = False, count_limit: int | None = None
) -> tuple[PagedStatements, dict[str, Any]]:
    """A project's events (``EventRepository.list``) and the parameters of ``query``
    (the page's ``limit`` and ``offset`` not among them): ordered by ``scheduled_at``
    (nulls last: unscheduled ones by ``created_at``), then ``id``; locked, by ``id``."""
    values: dict[str, Any] = {"team_id": query.team_id, "project_id": query.project_id}
    if query.scheduled_from is not None:
        values["scheduled_from"] = query.scheduled_from
    if query.scheduled_to is not None:
        values["scheduled_to"] = query.scheduled_to
    if query.statuses:
        values["statuses"] = list(query.statuses)
    if query.types:
        values["types"] = list(query.types)
    if count_limit is not None:
        values["count_limit"] = count_limit + 1
    shape = (
        query.scheduled_from is not None,
        query.scheduled_to is not None,
        bool(query.statuses),
        bool(query.types),
        query.unscheduled,
        for_update,
        count_limit is not None,
    )
    return _events(shape), values


@cache
def _events(shape: _EventShape) -> PagedStatements:
    since, until, statuses, types, unscheduled, by_id, count_limited = shape
    e = calendar_events.c
    where: list[Condition] = [
        e.team_id == bindparam("team_id"),
        e.project_id == bindparam("project_id"),
    ]
    if since:
        where.append(e.scheduled_at >= bindparam("scheduled_from"))
    if until:
        where.append(e.scheduled_at <= bindparam("scheduled_to"))
    if statuses:
        where.append(e.status.in_(bindparam("statuses", expanding=True)))
    if types:
        where.append(e.type.in_(bindparam("types", expanding=True)))
    if unscheduled:
        where.append(e.scheduled_at.is_(None))
    # locked in id order, as every unit of work locking several rows does
    order = [e.id] if by_id else event_order(since or until)
    return paged(rows_of(CalendarEvent), calendar_events, where, order, count_limited=count_limited)


@cache
def ledger_statements() -> PagedStatements:
    """The team's ledger (``LedgerRepository.list``), newest first; parameter ``team_id``."""
    c = ledger_entries.c
    where: list[Condition] = [c.team_id == bindparam("team_id")]
    order = [c.created_at.desc(), c.id.desc()]
    return paged(rows_of(LedgerEntry), ledger_entries, where, order)


@cache
def trash_statements() -> PagedStatements:
    """The team's trash (``ImageRepository.list_trash``), newest deletion first;
    parameter ``team_id``."""
    c = images.c
    where: list[Condition] = [c.team_id == bindparam("team_id"), TRASHED]
    order = [c.deleted_at.desc(), c.id.desc()]
    return paged(rows_of(Image), images, where, order)
