"""What one team's calendar feeds may cost the others: a feed is refreshed by one task
that its requests share, a team refreshes one feed at a time, the process two, and the
requests a team has waiting are bounded (past it: the feed as kept, or ``503``).

Structure, not timing: each read of events is held on an ``asyncio.Event`` until the
test lets it go, and the test looks at which reads have started."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from rankion_core.models import CalendarEvent, EventStatus, EventType, Project
from rankion_core.services.feeds import CalendarFeeds, FeedContent
from rankion_core.testing.builders import T0
from rankion_server import ics
from rankion_server.ics import FEED_CACHE, FeedBusy, FeedCache

from .conftest import Api
from .test_feeds import add_event, issue, later, vevents

BASE = "http://h"


def event(n: int, project: int = 1, title: str = "slot", changed: int = 0) -> CalendarEvent:
    at = T0 + timedelta(days=n)
    updated = T0 + timedelta(seconds=changed)
    return CalendarEvent(
        n, 1, project, f"{title} {n}", EventType.ARTICLE, EventStatus.PLANNED, at, None, None,
        T0, updated,
    )  # fmt: skip


class Reads:
    """Event reads held until ``release``; which have started, in order."""

    def __init__(self) -> None:
        self.started: list[int] = []
        self.gates: dict[int, asyncio.Event] = {}

    def of(self, project: Project, events: list[CalendarEvent] | None = None) -> Callable[
        [], Awaitable[FeedContent]
    ]:  # fmt: skip
        async def read() -> FeedContent:
            self.started.append(project.id)
            await self.gates.setdefault(project.id, asyncio.Event()).wait()
            return FeedContent(project, events if events is not None else [event(project.id)])

        return read

    def release(self, project_id: int) -> None:
        self.gates.setdefault(project_id, asyncio.Event()).set()


async def settle() -> None:
    """Every task that can run, run until it waits."""
    for _ in range(20):
        await asyncio.sleep(0)


def project(n: int, team: int) -> Project:
    return Project(n, team, f"project {n}", T0)


async def test_requests_for_a_feed_being_refreshed_share_its_refresh() -> None:
    cache, reads, one = FeedCache(), Reads(), project(1, team=1)
    first = asyncio.create_task(cache.refresh(one, reads.of(one), BASE))
    await settle()
    second = asyncio.create_task(cache.refresh(one, reads.of(one), BASE))
    await settle()
    assert reads.started == [1]
    reads.release(1)
    assert await first is await second  # the same rendering
    assert reads.started == [1]


async def test_a_teams_second_feed_waits_for_its_first() -> None:
    cache, reads = FeedCache(), Reads()
    one, two = project(1, team=1), project(2, team=1)
    first = asyncio.create_task(cache.refresh(one, reads.of(one), BASE))
    second = asyncio.create_task(cache.refresh(two, reads.of(two), BASE))
    await settle()
    assert reads.started == [1]  # the team's second feed waits, though a slot is free
    reads.release(1)
    await first
    await settle()
    assert reads.started == [1, 2]
    reads.release(2)
    await second


async def test_the_process_refreshes_at_most_its_bound_of_feeds_at_once() -> None:
    cache, reads = FeedCache(renders=2), Reads()
    projects = [project(n, team=n) for n in range(1, 6)]  # five teams, a feed each
    tasks = [asyncio.create_task(cache.refresh(p, reads.of(p), BASE)) for p in projects]
    await settle()
    assert reads.started == [1, 2]
    reads.release(1)
    await tasks[0]
    await settle()
    assert reads.started == [1, 2, 3]  # one goes, one comes
    for p in projects[1:]:
        reads.release(p.id)
    await asyncio.gather(*tasks)
    assert sorted(reads.started) == [1, 2, 3, 4, 5]


async def test_a_teams_pending_refreshes_hold_one_slot_and_leave_the_others() -> None:
    cache, reads = FeedCache(renders=2), Reads()
    theirs = [project(n, team=2) for n in range(10, 16)]  # the hostile team's feeds
    pending = [asyncio.create_task(cache.refresh(p, reads.of(p), BASE)) for p in theirs]
    await settle()
    assert reads.started == [10]
    mine = project(1, team=1)
    task = asyncio.create_task(cache.refresh(mine, reads.of(mine), BASE))
    await settle()
    assert reads.started == [10, 1]  # not queued behind the other team's five
    reads.release(1)
    assert b"BEGIN:VCALENDAR" in await task
    for p in theirs:
        reads.release(p.id)
    await asyncio.gather(*pending)


async def test_past_its_waiting_bound_a_team_gets_its_feed_as_kept_or_busy() -> None:
    cache, reads = FeedCache(waiting=2), Reads()
    one, two, three = project(1, team=1), project(2, team=1), project(3, team=1)
    reads.release(3)
    kept = await cache.refresh(three, reads.of(three), BASE)  # kept from an earlier poll
    tasks = [asyncio.create_task(cache.refresh(p, reads.of(p), BASE)) for p in (one, two)]
    await settle()
    with pytest.raises(FeedBusy) as busy:  # nothing kept to answer with
        await cache.refresh(project(4, team=1), reads.of(project(4, team=1)), BASE)
    assert busy.value.retry_after == ics.FEED_RETRY_AFTER
    assert await cache.refresh(three, reads.of(three), BASE) is kept  # not read again
    assert reads.started == [3, 1]
    other = project(5, team=2)  # another team is not bounded by this one's waiting
    reads.release(5)
    assert b"BEGIN:VCALENDAR" in await cache.refresh(other, reads.of(other), BASE)
    reads.release(1)
    reads.release(2)
    await asyncio.gather(*tasks)
    reads.gates.pop(3).clear()
    refreshed = asyncio.create_task(cache.refresh(three, reads.of(three), BASE))
    await settle()  # the bound is free again: the feed is refreshed, not served as kept
    assert reads.started[-1] == 3
    reads.release(3)
    await refreshed


async def test_a_request_that_goes_away_leaves_the_refresh_to_the_others() -> None:
    cache, reads, one = FeedCache(), Reads(), project(1, team=1)
    first = asyncio.create_task(cache.refresh(one, reads.of(one), BASE))
    second = asyncio.create_task(cache.refresh(one, reads.of(one), BASE))
    await settle()
    first.cancel()
    await settle()
    reads.release(1)
    assert b"BEGIN:VCALENDAR" in await second
    assert reads.started == [1]


async def test_a_changed_event_renders_the_feed_again_and_an_unchanged_one_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rendered: list[int] = []
    real = ics.render

    def counting(content: FeedContent, base_url: str, with_urls: bool = True) -> bytes:
        rendered.append(len(content.events))
        return real(content, base_url, with_urls)

    monkeypatch.setattr(ics, "render", counting)
    cache, p = FeedCache(), project(1, team=1)
    events = [event(n) for n in range(1, 4)]
    first = await cache.render(FeedContent(p, events), BASE)
    again = await cache.render(FeedContent(p, [event(n) for n in range(1, 4)]), BASE)
    assert again is first and rendered == [3]  # equal version: kept, not rendered
    changed = [event(1), event(2, title="renamed", changed=1), event(3)]
    body = await cache.render(FeedContent(p, changed), BASE)
    assert rendered == [3, 3] and b"SUMMARY:renamed 2" in body
    assert body == real(FeedContent(p, changed), BASE)
    fewer = await cache.render(FeedContent(p, changed[:2]), BASE)  # one deleted
    assert rendered == [3, 3, 2] and b"slot 3" not in fewer


def hold_reads(api: Api, monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """The server's feed reads held until the first event is set (the second is set
    as one starts), and a team's waiting bound 1."""
    gate, entered = asyncio.Event(), asyncio.Event()
    real = CalendarFeeds.content

    async def held(self: CalendarFeeds, project: Project) -> FeedContent:
        entered.set()
        await gate.wait()
        return await real(self, project)

    monkeypatch.setattr(CalendarFeeds, "content", held)
    api.client.app[FEED_CACHE].waiting = 1
    return gate, entered


async def test_a_busy_teams_feed_answers_503_with_retry_after_over_http(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    gate, entered = hold_reads(api, monkeypatch)
    first, second = await api.project(), await api.project()
    await add_event(api, second, title="Launch", scheduled_at="2030-01-01T09:00:00Z")
    urls = [(await issue(api, p))["url"] for p in (first, second)]
    pending = asyncio.create_task(api.fetch(urls[0]))
    await entered.wait()
    busy = await api.fetch(urls[1])
    assert busy.status == 503, busy.body
    assert busy.headers["Retry-After"] == str(ics.FEED_RETRY_AFTER)
    gate.set()
    assert (await pending).status == 200
    assert list(vevents(await api.fetch(urls[1]))) == ["Launch"]


async def test_a_kept_feed_is_served_while_its_team_is_busy(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_id = await api.project()
    await add_event(api, project_id, title="Launch", scheduled_at="2030-01-01T09:00:00Z")
    url = (await issue(api, project_id))["url"]
    kept = await api.fetch(url)
    other_url = (await issue(api, await api.project()))["url"]
    gate, entered = hold_reads(api, monkeypatch)
    later(api, ics.FEED_FRESH)  # no longer fresh: it would be read again
    pending = asyncio.create_task(api.fetch(other_url))
    await entered.wait()
    stale = await api.fetch(url)
    assert stale.status == 200 and stale.body == kept.body
    gate.set()
    assert (await pending).status == 200
