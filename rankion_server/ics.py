"""A project's calendar as an iCalendar (RFC 5545) feed, written with ``icalendar``.

One VEVENT per dated event: UID (stable per event and deployment), DTSTAMP (the
event's last change: a feed has no METHOD, so DTSTAMP is its LAST-MODIFIED), DTSTART
in the project's time zone (``TZID``, with a VTIMEZONE for it that is true in every
year holding such an event, see ``vtimezone``; UTC projects write ``Z`` times, and so
does an event outside the years 1900-2199, ``vtimezone.ZONED_YEARS``), SUMMARY, STATUS
(idea/planned → TENTATIVE, scheduled/published → CONFIRMED, cancelled → CANCELLED),
DESCRIPTION (the notes), URL and CATEGORIES (the event type).
Events have no end: a slot is a point in time.

URL is the event's month in the web app (``/app/projects/{id}/calendar?month=YYYY-MM``,
the month of its project's time zone, ``#event-{id}`` marking it), absolute from the
deployment's public URL: a calendar app opens it in a browser, which signs in with a
token if it has no session. The API's own URL of the event would answer ``401`` there,
so an app served without the web app (``create_app(web_app=False)``) writes no URL.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import tzinfo
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from icalendar import Calendar, Event, vText

from rankion_core.models import CalendarEvent
from rankion_core.rules.calendar import DEFAULT_ZONE, local_time, zone_of
from rankion_core.rules.feeds import ics_status
from rankion_core.services import FeedContent

from .vtimezone import vtimezone, zoned

PRODID = "-//Rankion//Editorial calendar//EN"
MEDIA_TYPE = "text/calendar"


def app_url(event: CalendarEvent, base_url: str, zone: tzinfo | None) -> str:
    """Where the web app shows ``event``: its month in the project's zone."""
    start = event.scheduled_at
    month = f"?month={(local_time(start, zone) if zone else start):%Y-%m}" if start else ""
    return f"{base_url}/app/projects/{event.project_id}/calendar{month}#event-{event.id}"


def _vevent(
    event: CalendarEvent, base_url: str, host: str, zone: tzinfo | None, with_urls: bool
) -> Event:
    vevent = Event()
    vevent.add("uid", f"event-{event.id}@{host}")
    vevent.add("dtstamp", event.updated_at)
    start = event.scheduled_at
    if start is not None and zone is not None and zoned(start):
        start = local_time(start, zone)
    vevent.add("dtstart", start)
    vevent.add("created", event.created_at)
    vevent.add("last-modified", event.updated_at)
    vevent.add("summary", event.title)
    vevent.add("status", ics_status(event.status))
    vevent.add("categories", [event.type.value])
    if with_urls:
        vevent.add("url", app_url(event, base_url, zone))
    if event.notes:
        vevent.add("description", event.notes)
    return vevent


def render(content: FeedContent, base_url: str, with_urls: bool = True) -> bytes:
    """The whole feed as bytes (CRLF lines, folded at 75 octets by the library)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # as text, escaped: the library writes an x-property as given, and a line break
    # in the project's name broke the feed (a 500) or added a line of its own
    calendar.add("x-wr-calname", vText(content.project.name))
    host = urlsplit(base_url).hostname or "rankion"
    name = content.project.time_zone
    zone = zone_of(name) if name != DEFAULT_ZONE else None
    if zone is not None:
        calendar.add("x-wr-timezone", name)
        dated = [event.scheduled_at for event in content.events if event.scheduled_at]
        rules = vtimezone(name, zone, dated)  # over every year with a zoned event
        if rules is not None:
            calendar.add_component(rules)
    for event in content.events:
        calendar.add_component(_vevent(event, base_url, host, zone, with_urls))
    return bytes(calendar.to_ical())


#: bytes of rendered feeds kept at most (a feed of 2,000 events with long notes is ~20 MB)
FEED_CACHE_BYTES = 64 * 2**20
#: seconds a kept feed is served without reading its events again (clients are told
#: ``max-age=60``)
FEED_FRESH = 30.0


def _fingerprint(content: FeedContent, base_url: str, with_urls: bool) -> tuple[Any, ...]:
    """Everything the rendering depends on: equal fingerprints, equal bytes."""
    events = tuple(
        (e.id, e.title, e.type, e.status, e.scheduled_at, e.notes, e.created_at, e.updated_at)
        for e in content.events
    )
    return (base_url, with_urls, content.project.name, content.project.time_zone, events)


class FeedCache:
    """The last rendering of each project's feed, reused while nothing in it changed.

    ``icalendar`` takes about a millisecond per event, and calendar apps poll: a
    changed feed is rendered off the event loop, an unchanged one not at all. At most
    ``size`` feeds and ``max_bytes`` of them are kept (the least recently used go).
    """

    def __init__(
        self,
        size: int = 128,
        max_bytes: int = FEED_CACHE_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.clock = clock
        self._bytes = 0
        #: per project: the fingerprint, the bytes, when they were last checked
        self._entries: OrderedDict[int, tuple[tuple[Any, ...], bytes, float]] = OrderedDict()

    def fresh(self, project_id: int, base_url: str, with_urls: bool = True) -> bytes | None:
        """The project's feed as checked against its events less than ``FEED_FRESH``
        seconds ago (for the same base URL), without reading them again: a feed polled
        in a loop costs its reader a token check, not its events."""
        hit = self._entries.get(project_id)
        if hit is None or hit[0][:2] != (base_url, with_urls):
            return None
        if self.clock() - hit[2] >= FEED_FRESH:
            return None
        return hit[1]

    async def render(self, content: FeedContent, base_url: str, with_urls: bool = True) -> bytes:
        key, stamp = content.project.id, _fingerprint(content, base_url, with_urls)
        hit = self._entries.pop(key, None)
        if hit is not None:
            self._bytes -= len(hit[1])
        body = (
            hit[1]
            if hit is not None and hit[0] == stamp
            else await asyncio.to_thread(render, content, base_url, with_urls)
        )
        self._entries[key] = (stamp, body, self.clock())
        self._bytes += len(body)
        while self._entries and (len(self._entries) > self.size or self._bytes > self.max_bytes):
            self._bytes -= len(self._entries.popitem(last=False)[1][1])
        return body

    @property
    def bytes(self) -> int:
        """The bytes of the feeds kept."""
        return self._bytes


FEED_CACHE = web.AppKey("feed_cache", FeedCache)
