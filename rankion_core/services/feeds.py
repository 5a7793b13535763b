"""Calendar feeds: a per-project secret URL that calendar apps subscribe to.

The team side issues (or rotates) and revokes a project's feed token; the public side
resolves a token to the project's dated events. A wrong, revoked or rotated-away
token, another project's token and a missing project all raise the same ``NotFound``.
"""

from __future__ import annotations

from datetime import datetime

from attrs import define, field

from ..errors import NotFound
from ..models import Actor, CalendarEvent, Project
from ..ports import EventQuery, Reads
from ..reads import reads_of
from ..rules import feeds as rules
from .deps import Deps


@define(frozen=True)
class FeedContent:
    project: Project
    #: the project's events that have a date, ordered by ``scheduled_at`` then id
    events: list[CalendarEvent]
    #: what the feed's bytes depend on, found in one pass (``rules.version``)
    version: tuple[object, ...] = field(init=False)

    @version.default
    def _version(self) -> tuple[object, ...]:
        return rules.version(self.project, self.events)


class CalendarFeeds:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def issue(self, actor: Actor, project_id: int) -> str:
        """A new feed token for the project (shown once); any earlier one stops working."""
        token, feed = rules.new_feed(
            team_id=actor.team_id, project_id=project_id, now=self.deps.clock.now()
        )
        async with self.deps.storage.unit_of_work() as uow:
            if await uow.projects.get(actor.team_id, project_id) is None:
                raise NotFound("project")
            await uow.calendar_feeds.put(feed)
            await uow.commit()
        return token

    async def revoke(self, actor: Actor, project_id: int) -> None:
        """Revoke the project's feed token; idempotent: a project without one is fine
        (a missing or another team's project is ``NotFound``)."""
        async with self.deps.storage.unit_of_work() as uow:
            if await uow.projects.get(actor.team_id, project_id) is None:
                raise NotFound("project")
            await uow.calendar_feeds.delete(actor.team_id, project_id)
            await uow.commit()

    async def open(self, project_id: int, token: str) -> Project:
        """The public side's check: the project, if ``token`` opens its feed."""
        plausible = rules.plausible(token)
        async with self.deps.storage.unit_of_work() as uow:
            feed = await uow.calendar_feeds.find(rules.digest(token)) if plausible else None
            project = (
                await uow.projects.get(feed.team_id, project_id)
                if feed is not None and feed.project_id == project_id
                else None
            )
        if project is None:
            raise NotFound("feed")
        return project

    async def content(self, project: Project) -> FeedContent:
        """The public side's read: the dated events of a project ``open`` gave (apart,
        so that a feed kept a moment ago is served after its token check alone)."""
        events = await _dated_events(reads_of(self.deps.storage), project, self.deps.clock.now())
        return FeedContent(project, events)


async def _dated_events(reads: Reads, project: Project, now: datetime) -> list[CalendarEvent]:
    """Every event with a ``scheduled_at`` (undated ideas come last in the storage
    order), or past ``rules.FEED_EVENTS_MAX`` of them the first that many from
    ``rules.FEED_PAST`` ago on."""
    most, team_id, project_id = rules.FEED_EVENTS_MAX, project.team_id, project.id
    # the total is not shown: counted no further than one row
    first = EventQuery(team_id, project_id, per_page=most + 1)
    items, _ = await reads.event_page(first, count_limit=0)
    dated = [event for event in items if event.scheduled_at is not None]
    if len(dated) <= most:
        return dated
    recent = EventQuery(team_id, project_id, scheduled_from=now - rules.FEED_PAST, per_page=most)
    return (await reads.event_page(recent, count_limit=0))[0]
