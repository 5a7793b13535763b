"""The editorial calendar: one event list per project."""

from __future__ import annotations

from functools import partial

from aiohttp import web

from rankion_api.calendar import (
    CreateEventBody,
    DayOut,
    EventOut,
    ShiftBody,
    ShiftOut,
    UpdateEventBody,
)
from rankion_api.common import WarningOut, given
from rankion_core.errors import Invalid, LimitExceeded
from rankion_core.models import CalendarEvent
from rankion_core.rules.calendar import EventChange, EventDraft, advice
from rankion_core.rules.limits import CALENDAR_EVENTS_PER_TEAM, SHIFT_EVENTS_MAX
from rankion_core.services import Shift

from .. import render
from ..bodies import parse
from ..keys import actor, rankion
from ..limits import SHIFT_EVENTS_PER_WRITE, WRITE_BUCKETS, check_write_rate
from ..operations import operation
from ..query import CALENDAR_DAYS, CALENDAR_LIST, bound, day_range, event_query
from ..responses import no_content, ok, page
from .common import path_id, seg

routes = web.RouteTableDef()
TAG = "calendar"
PROJECT_EVENTS = f"/v1/projects/{seg('project')}/calendar"
EVENT = f"/v1/calendar/{seg('id')}"


def _warnings(request: web.Request, event: CalendarEvent) -> list[WarningOut]:
    now = rankion(request).deps.clock.now()
    return [WarningOut(a.code, a.message) for a in advice(event, now=now)]


WARNINGS_DOC = (
    " The answer's warnings say what is allowed but probably not meant: "
    "scheduled_in_past when the event is scheduled at a time already past."
)


@routes.get(PROJECT_EVENTS, allow_head=False)
@operation(
    "List a project's events",
    TAG,
    response=EventOut,
    paged=True,
    params=CALENDAR_LIST,
    description="Ordered by scheduled_at (nulls last), then id. A date in from/to is a "
    "whole day in the project's time zone; unscheduled=true lists the undated ideas. "
    "from after to (compared once both are instants in that zone) is 422.",
)
async def list_events(request: web.Request) -> web.StreamResponse:
    who, calendar = actor(request), rankion(request).calendar
    project_id = path_id(request, "project")
    zone = await calendar.zone(who, project_id)
    query = event_query(request.query, who.team_id, project_id, zone)
    return page(await calendar.list(who, query), partial(render.event, zone=zone))


@routes.post(PROJECT_EVENTS)
@operation(
    "Create an event",
    TAG,
    status=201,
    response=EventOut,
    body=CreateEventBody,
    warns=True,
    description=f"A team may have {CALENDAR_EVENTS_PER_TEAM:,} events, all its projects "
    "together (a setting): past it, 422 limit_exceeded." + WARNINGS_DOC,
)
async def create_event(request: web.Request) -> web.StreamResponse:
    body = await parse(request, CreateEventBody)
    draft = EventDraft(
        title=body.title,
        type=body.type,
        status=body.status,
        scheduled_at=body.scheduled_at,
        article_id=body.article_id,
        notes=body.notes,
    )
    zoned = await rankion(request).calendar.create(
        actor(request), path_id(request, "project"), draft
    )
    event = zoned.event
    warnings = _warnings(request, event)
    out = render.event(event, zoned.zone)
    return ok(out, status=201, location=f"/v1/calendar/{event.id}", warnings=warnings)


@routes.get(EVENT, allow_head=False)
@operation("Read an event", TAG, response=EventOut)
async def get_event(request: web.Request) -> web.StreamResponse:
    zoned = await rankion(request).calendar.get(actor(request), path_id(request))
    return ok(render.event(zoned.event, zoned.zone))


def _change(body: UpdateEventBody) -> EventChange:
    return EventChange(
        title=given(body.title),
        type=given(body.type),
        status=given(body.status),
        scheduled_at=given(body.scheduled_at),
        clear_scheduled_at=body.scheduled_at is None,
        article_id=given(body.article_id),
        clear_article_id=body.article_id is None,
        notes=given(body.notes),
        clear_notes=body.notes is None,
    )


@routes.put(EVENT)
@operation(
    "Update an event",
    TAG,
    response=EventOut,
    body=UpdateEventBody,
    errors=(409,),
    warns=True,
    description="Fields not sent keep their value; null clears scheduled_at, article_id "
    "or notes. A published event may only become cancelled and keeps its date "
    "(409 event_published)." + WARNINGS_DOC,
)
async def update_event(request: web.Request) -> web.StreamResponse:
    change = _change(await parse(request, UpdateEventBody))
    zoned = await rankion(request).calendar.update(actor(request), path_id(request), change)
    out = render.event(zoned.event, zoned.zone)
    return ok(out, warnings=_warnings(request, zoned.event))


@routes.delete(EVENT)
@operation("Delete an event", TAG, status=204)
async def delete_event(request: web.Request) -> web.StreamResponse:
    await rankion(request).calendar.delete(actor(request), path_id(request))
    return no_content()


@routes.post(f"{PROJECT_EVENTS}/shift")
@operation(
    "Shift a stretch of the calendar",
    TAG,
    response=ShiftOut,
    body=ShiftBody,
    description="Moves every event with scheduled_at in [from, to] by days whole days "
    "of the project's time zone, keeping its wall-clock time across DST changes (a time "
    "that does not exist on the new day moves forward by the gap). Published and "
    "cancelled events never move (counted in skipped). All or nothing; each moved "
    "event sends calendar.event.changed. from after to (compared once both are instants "
    "in the project's zone) is 422, and so is a move that would take an event outside "
    "years 1..9999.",
)
async def shift_events(request: web.Request) -> web.StreamResponse:
    who, calendar = actor(request), rankion(request).calendar
    project_id = path_id(request, "project")
    zone = await calendar.zone(who, project_id)
    body = await parse(request, ShiftBody)
    start, end = bound(body.from_, "from", False, zone), bound(body.to, "to", True, zone)
    if start > end:
        raise Invalid("from must not be after to", details={"from": "must not be after to"})
    shift = Shift(start, end, body.days, tuple(body.statuses or ()))
    # a big shift is many changes: what the largest costs, before it starts
    reserved = SHIFT_EVENTS_MAX / SHIFT_EVENTS_PER_WRITE
    check_write_rate(request, who.team_id, reserved)
    buckets = request.app[WRITE_BUCKETS]
    try:
        result = await calendar.shift(who, project_id, shift)
    except LimitExceeded:
        raise  # it read the most a shift reads
    except BaseException:
        buckets.give_back(who.team_id, reserved)
        raise
    read = (result.moved + result.skipped) / SHIFT_EVENTS_PER_WRITE
    buckets.give_back(who.team_id, reserved - read)
    return ok(ShiftOut(moved=result.moved, skipped=result.skipped))


@routes.get(f"{PROJECT_EVENTS}/days", allow_head=False)
@operation(
    "Count a project's events per local day",
    TAG,
    response=DayOut,
    listed=True,
    params=CALENDAR_DAYS,
    description="One row per day of the project's time zone that has events in "
    "[from, to], with the count per status. from after to, or a range of more than 366 "
    "days (compared once both are instants in the project's zone), is 422.",
)
async def event_days(request: web.Request) -> web.StreamResponse:
    who, calendar = actor(request), rankion(request).calendar
    project_id = path_id(request, "project")
    zone = await calendar.zone(who, project_id)
    start, end = day_range(request.query, zone)
    days = await calendar.days(who, project_id, start, end)
    return ok([render.day(d) for d in days])
