"""The editorial calendar: one event list per project."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from attrs import define, evolve

from ..errors import Invalid, LimitExceeded, NotFound
from ..models import Actor, CalendarEvent, EventStatus, Page, Project
from ..ports import DayQuery, EventQuery, UnitOfWork, one_statement
from ..reads import reads_of
from ..rules.calendar import (
    FIXED_STATUSES,
    DayCount,
    EventChange,
    EventDraft,
    apply_change,
    check_shift_days,
    day_counts,
    local_days,
    new_event,
    shift_event,
    zone_of,
)
from ..rules.limits import SHIFT_EVENTS_MAX
from ..rules.webhooks import event_data
from ..webhooks import WebhookEvent
from . import outbox
from .caps import check_room
from .deps import Deps

CHANGED = WebhookEvent.CALENDAR_EVENT_CHANGED


@define(frozen=True)
class Shift:
    """Move the events with ``scheduled_at`` in ``[start, end]`` (and one of
    ``statuses``, when given) by ``days`` whole local days."""

    start: datetime
    end: datetime
    days: int
    statuses: Sequence[EventStatus] = ()


@define(frozen=True)
class ShiftResult:
    moved: int
    skipped: int


@define(frozen=True)
class ZonedEvent:
    """An event and its project's time zone (an answer shows its local time), read in
    the event's own unit of work."""

    event: CalendarEvent
    zone: ZoneInfo


def _check_shift_size(total: int) -> None:
    if total > SHIFT_EVENTS_MAX:
        raise LimitExceeded(
            f"a shift moves at most {SHIFT_EVENTS_MAX} events",
            details={"from": f"the range holds more than {SHIFT_EVENTS_MAX} events; narrow it"},
        )


class Calendar:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def _project(self, uow: UnitOfWork, actor: Actor, project_id: int) -> Project:
        project = await uow.projects.get(actor.team_id, project_id)
        if project is None:
            raise NotFound("project")
        return project

    async def zone(self, actor: Actor, project_id: int) -> ZoneInfo:
        """The time zone of one of the caller's projects."""
        async with self.deps.storage.unit_of_work() as uow:
            project = await self._project(uow, actor, project_id)
        return zone_of(project.time_zone)

    async def _check_article(self, actor: Actor, project_id: int, article_id: int | None) -> None:
        if article_id is not None and not await self.deps.articles.exists(
            actor.team_id, project_id, article_id
        ):
            raise Invalid("article_id: article not found", details={"article_id": "not found"})

    async def list(self, actor: Actor, query: EventQuery) -> Page[CalendarEvent]:
        """One page of a project's events. The page and its exact total cost what the
        project holds, so they come from the read port, not a unit of work."""
        async with self.deps.storage.unit_of_work() as uow:
            await self._project(uow, actor, query.project_id)
        items, total = await reads_of(self.deps.storage).event_page(query)
        return Page(items, query.page, query.per_page, total)

    async def create(self, actor: Actor, project_id: int, draft: EventDraft) -> ZonedEvent:
        event = new_event(
            draft, team_id=actor.team_id, project_id=project_id, now=self.deps.clock.now()
        )
        limit = self.deps.max_calendar_events
        if event.article_id is None:
            # one statement, for a team without webhooks (there is no delivery to queue
            # with the event) and below its cap whose project it is; else the unit of
            # work below tells which, and queues the deliveries. An event of an article
            # takes the unit of work: the article is looked for once the project is
            # known to be the team's (a repository of an earlier release, without
            # ``add_unwatched``: the unit of work below adds every event)
            async with self.deps.storage.unit_of_work() as uow:
                add_unwatched = getattr(uow.events, "add_unwatched", None)
                if add_unwatched is not None:
                    one_statement(uow)
                    zone_name = await add_unwatched(event, limit=limit)
                    if zone_name is not None:
                        await uow.commit()
                        return ZonedEvent(event, zone_of(zone_name))
        async with self.deps.storage.unit_of_work() as uow:
            project = await self._project(uow, actor, project_id)  # 404 before the cap
            await check_room("calendar events", limit, uow.events.count, actor.team_id)
            await self._check_article(actor, project_id, event.article_id)
            await uow.events.add(event)
            zone = zone_of(project.time_zone)
            queued = await self._emit(uow, actor, event, zone, "created")
            await outbox.commit(self.deps, uow, queued)
        return ZonedEvent(event, zone)

    async def _emit(
        self, uow: UnitOfWork, actor: Actor, event: CalendarEvent, zone: tzinfo, action: str
    ) -> int:
        """The change's webhook event, its data rendered only when a webhook wants it;
        the deliveries queued."""
        return await outbox.emit_many(
            self.deps, uow, actor.team_id, CHANGED, [event], lambda e: event_data(e, zone, action)
        )

    async def _zoned(self, uow: UnitOfWork, actor: Actor, event: CalendarEvent) -> ZonedEvent:
        project = await self._project(uow, actor, event.project_id)
        return ZonedEvent(event, zone_of(project.time_zone))

    async def get(self, actor: Actor, event_id: int) -> ZonedEvent:
        async with self.deps.storage.unit_of_work() as uow:
            event = await uow.events.get(actor.team_id, event_id)
            if event is None:
                raise NotFound("event")
            return await self._zoned(uow, actor, event)

    async def update(self, actor: Actor, event_id: int, change: EventChange) -> ZonedEvent:
        async with self.deps.storage.unit_of_work() as uow:
            # locked: the change is checked against the event as it is (a status that
            # needs a date, and a concurrent change taking the date away)
            event = await uow.events.get(actor.team_id, event_id, for_update=True)
            if event is None:
                raise NotFound("event")
            before = event.article_id
            apply_change(event, change, now=self.deps.clock.now())
            if event.article_id != before:
                await self._check_article(actor, event.project_id, event.article_id)
            await uow.events.update(event)
            zoned = await self._zoned(uow, actor, event)  # before the commit: one transaction
            queued = await self._emit(uow, actor, event, zoned.zone, "updated")
            await outbox.commit(self.deps, uow, queued)
        return zoned

    async def delete(self, actor: Actor, event_id: int) -> None:
        async with self.deps.storage.unit_of_work() as uow:
            event = await uow.events.get(actor.team_id, event_id, for_update=True)
            if event is None or not await uow.events.delete(actor.team_id, event_id):
                raise NotFound("event")
            zone = (await self._zoned(uow, actor, event)).zone
            queued = await self._emit(uow, actor, event, zone, "deleted")
            await outbox.commit(self.deps, uow, queued)

    async def shift(self, actor: Actor, project_id: int, shift: Shift) -> ShiftResult:
        """All or nothing: every matching event moves, or none does."""
        days = check_shift_days(shift.days)
        now = self.deps.clock.now()
        query = EventQuery(
            actor.team_id,
            project_id,
            scheduled_from=shift.start,
            scheduled_to=shift.end,
            statuses=tuple(shift.statuses),
            per_page=SHIFT_EVENTS_MAX,
        )
        async with self.deps.storage.unit_of_work() as uow:
            zone = zone_of((await self._project(uow, actor, project_id)).time_zone)
            # counted first, no further than one past the limit: a range of more is
            # refused without reading its events (or counting them all)
            _check_shift_size(
                (await uow.events.list(evolve(query, per_page=1), count_limit=SHIFT_EVENTS_MAX))[1]
            )
            # locked: two shifts, or a shift and a change, move each event once
            events, total = await uow.events.list(
                query, for_update=True, count_limit=SHIFT_EVENTS_MAX
            )
            _check_shift_size(total)  # events may have come in between
            moved = [e for e in events if shift_event(e, days, zone, now=now)]
            await uow.events.update_many(moved)

            def updated(event: CalendarEvent) -> dict[str, Any]:
                return event_data(event, zone, "updated")

            queued = await outbox.emit_many(self.deps, uow, actor.team_id, CHANGED, moved, updated)
            await outbox.commit(self.deps, uow, queued)
        skipped = sum(1 for e in events if e.status in FIXED_STATUSES)
        return ShiftResult(moved=len(moved), skipped=skipped)

    async def days(
        self, actor: Actor, project_id: int, start: datetime, end: datetime
    ) -> builtins.list[DayCount]:
        """Per local day of the project's zone: how many events, by status."""
        zone = await self.zone(actor, project_id)
        days = tuple(local_days(start, end, zone))
        rows = await reads_of(self.deps.storage).day_counts(
            DayQuery(actor.team_id, project_id, days)
        )
        return day_counts(rows)
