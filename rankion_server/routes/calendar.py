"""The editorial calendar: one event list per project."""

from __future__ import annotations

from aiohttp import web

from rankion_core.rules.calendar import EventChange, EventDraft

from .. import render
from ..bodies import parse
from ..keys import actor, rankion
from ..operations import operation
from ..query import CALENDAR_LIST, event_query
from ..responses import no_content, ok, page
from ..schemas.calendar import CreateEventBody, EventOut, UpdateEventBody
from ..schemas.common import given
from .common import path_id, seg

routes = web.RouteTableDef()
TAG = "calendar"
PROJECT_EVENTS = f"/v1/projects/{seg('project')}/calendar"
EVENT = f"/v1/calendar/{seg('id')}"


@routes.get(PROJECT_EVENTS, allow_head=False)
@operation(
    "List a project's events",
    TAG,
    response=EventOut,
    paged=True,
    params=CALENDAR_LIST,
    description="Ordered by scheduled_at (nulls last), then id.",
)
async def list_events(request: web.Request) -> web.StreamResponse:
    who = actor(request)
    query = event_query(request.query, who.team_id, path_id(request, "project"))
    return page(await rankion(request).calendar.list(who, query), render.event)


@routes.post(PROJECT_EVENTS)
@operation("Create an event", TAG, status=201, response=EventOut, body=CreateEventBody)
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
    event = await rankion(request).calendar.create(
        actor(request), path_id(request, "project"), draft
    )
    return ok(render.event(event), status=201, location=f"/v1/calendar/{event.id}")


@routes.get(EVENT, allow_head=False)
@operation("Read an event", TAG, response=EventOut)
async def get_event(request: web.Request) -> web.StreamResponse:
    event = await rankion(request).calendar.get(actor(request), path_id(request))
    return ok(render.event(event))


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
    description="Fields not sent keep their value; null clears scheduled_at, article_id "
    "or notes. A published event may only become cancelled and keeps its date "
    "(409 event_published).",
)
async def update_event(request: web.Request) -> web.StreamResponse:
    change = _change(await parse(request, UpdateEventBody))
    event = await rankion(request).calendar.update(actor(request), path_id(request), change)
    return ok(render.event(event))


@routes.delete(EVENT)
@operation("Delete an event", TAG, status=204)
async def delete_event(request: web.Request) -> web.StreamResponse:
    await rankion(request).calendar.delete(actor(request), path_id(request))
    return no_content()
