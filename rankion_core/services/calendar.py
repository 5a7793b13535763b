"""The editorial calendar: one event list per project."""

from __future__ import annotations

from ..errors import Invalid, NotFound
from ..models import Actor, CalendarEvent, Page
from ..ports import EventQuery, UnitOfWork
from ..rules.calendar import EventChange, EventDraft, apply_change, new_event
from ..rules.webhooks import event_data
from ..webhooks import WebhookEvent
from .deps import Deps
from .outbox import emit

CHANGED = WebhookEvent.CALENDAR_EVENT_CHANGED


class Calendar:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def _project(self, uow: UnitOfWork, actor: Actor, project_id: int) -> None:
        if await uow.projects.get(actor.team_id, project_id) is None:
            raise NotFound("project")

    async def _check_article(self, actor: Actor, project_id: int, article_id: int | None) -> None:
        if article_id is not None and not await self.deps.articles.exists(
            actor.team_id, project_id, article_id
        ):
            raise Invalid(
                "no such article in this project", details={"article_id": "unknown article"}
            )

    async def list(self, actor: Actor, query: EventQuery) -> Page[CalendarEvent]:
        async with self.deps.storage.unit_of_work() as uow:
            await self._project(uow, actor, query.project_id)
            items, total = await uow.events.list(query)
        return Page(items, query.page, query.per_page, total)

    async def create(self, actor: Actor, project_id: int, draft: EventDraft) -> CalendarEvent:
        event = new_event(
            draft, team_id=actor.team_id, project_id=project_id, now=self.deps.clock.now()
        )
        async with self.deps.storage.unit_of_work() as uow:
            await self._project(uow, actor, project_id)
            await self._check_article(actor, project_id, event.article_id)
            await uow.events.add(event)
            await emit(self.deps, uow, actor.team_id, CHANGED, event_data(event, "created"))
            await uow.commit()
        return event

    async def get(self, actor: Actor, event_id: int) -> CalendarEvent:
        async with self.deps.storage.unit_of_work() as uow:
            event = await uow.events.get(actor.team_id, event_id)
        if event is None:
            raise NotFound("event")
        return event

    async def update(self, actor: Actor, event_id: int, change: EventChange) -> CalendarEvent:
        async with self.deps.storage.unit_of_work() as uow:
            event = await uow.events.get(actor.team_id, event_id)
            if event is None:
                raise NotFound("event")
            before = event.article_id
            apply_change(event, change, now=self.deps.clock.now())
            if event.article_id != before:
                await self._check_article(actor, event.project_id, event.article_id)
            await uow.events.update(event)
            await emit(self.deps, uow, actor.team_id, CHANGED, event_data(event, "updated"))
            await uow.commit()
        return event

    async def delete(self, actor: Actor, event_id: int) -> None:
        async with self.deps.storage.unit_of_work() as uow:
            event = await uow.events.get(actor.team_id, event_id)
            if event is None or not await uow.events.delete(actor.team_id, event_id):
                raise NotFound("event")
            await emit(self.deps, uow, actor.team_id, CHANGED, event_data(event, "deleted"))
            await uow.commit()
