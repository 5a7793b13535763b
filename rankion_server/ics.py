"""A project's calendar as an iCalendar (RFC 5545) feed.

Written by the small serializer below (``text``, ``fold``, ``vevent``), about 25x
cheaper than ``icalendar``'s ``to_ical`` (``benchmarks/feed_render.py``); the tests
parse every feed back with ``icalendar`` and compare it with the library's own writing
(``tests/api/test_feed_render.py``). The VTIMEZONE is ``icalendar``'s (``vtimezone``).

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
import functools
import re
import time
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from rankion_core.errors import Unavailable
from rankion_core.models import CalendarEvent, Project
from rankion_core.rules.calendar import DEFAULT_ZONE, local_time, zone_of
from rankion_core.rules.feeds import ics_status
from rankion_core.services import FeedContent
from rankion_core.turns import TeamTurns

from .vtimezone import vtimezone, zoned

PRODID = "-//Rankion//Editorial calendar//EN"
MEDIA_TYPE = "text/calendar"

#: a project's zone: its IANA name and the zone
Zone = tuple[str, tzinfo]


def app_url(event: CalendarEvent, base_url: str, zone: tzinfo | None) -> str:
    """Where the web app shows ``event``: its month in the project's zone."""
    start = event.scheduled_at
    month = f"?month={(local_time(start, zone) if zone else start):%Y-%m}" if start else ""
    return f"{base_url}/app/projects/{event.project_id}/calendar{month}#event-{event.id}"


#: octets of a content line at most, before its CRLF (RFC 5545 3.1); a longer one is
#: folded: CRLF and a space, never inside a UTF-8 sequence or a backslash escape
LINE_OCTETS = 75


def text(value: str) -> str:
    """``value`` as an iCalendar TEXT value (RFC 5545 3.3.11): backslash, semicolon and
    comma escaped, each line break (CRLF, LF or a lone CR) written ``\\n``."""
    if not _SPECIAL.search(value):
        return value
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


_SPECIAL = re.compile(r"[\\;,\r\n]")


def fold(line: str) -> str:
    """``line`` folded into lines of at most ``LINE_OCTETS`` octets (the space that
    opens a continuation counts), joined by CRLF + space."""
    if len(line) <= LINE_OCTETS and line.isascii():
        return line
    raw = line.encode()
    if len(raw) <= LINE_OCTETS:
        return line
    parts, at, room = [], 0, LINE_OCTETS
    while len(raw) - at > room:
        end = at + room
        while raw[end] & 0xC0 == 0x80:  # not inside a character
            end -= 1
        slashes = len(raw[at:end]) - len(raw[at:end].rstrip(b"\\"))
        end -= slashes % 2  # not between a backslash and what it escapes
        parts.append(raw[at:end])
        at, room = end, LINE_OCTETS - 1
    parts.append(raw[at:])
    return b"\r\n ".join(parts).decode()


def _utc(at: datetime) -> str:
    """A DATE-TIME in UTC (``…Z``), to the second."""
    return _wall(at if at.tzinfo is UTC else at.astimezone(UTC)) + "Z"


def _wall(at: datetime) -> str:
    """A DATE-TIME as its wall clock reads (with a TZID, or ``Z`` added), to the second."""
    iso = at.isoformat(timespec="seconds")  # YYYY-MM-DDTHH:MM:SS, the year 4 digits
    return f"{iso[0:4]}{iso[5:7]}{iso[8:13]}{iso[14:16]}{iso[17:19]}"


def vevent(
    event: CalendarEvent, base_url: str, uid_host: str, zone: Zone | None, with_urls: bool
) -> str:
    """One event's VEVENT, CRLF-terminated lines; ``zone`` is the project's (name, zone),
    None for UTC, ``uid_host`` the host of the UIDs (as TEXT)."""
    start = event.scheduled_at
    if start is None:
        dtstart = ""
    elif zone is not None and zoned(start):
        dtstart = f"DTSTART;TZID={zone[0]}:{_wall(local_time(start, zone[1]))}\r\n"
    else:
        dtstart = f"DTSTART:{_utc(start)}\r\n"
    updated = _utc(event.updated_at)
    url = (
        fold(f"URL:{app_url(event, base_url, zone[1] if zone else None)}") + "\r\n"
        if with_urls
        else ""
    )
    notes = f"{fold('DESCRIPTION:' + text(event.notes))}\r\n" if event.notes else ""
    return (
        f"BEGIN:VEVENT\r\n{fold(f'UID:event-{event.id}@{uid_host}')}\r\n"
        f"DTSTAMP:{updated}\r\n{dtstart}CREATED:{_utc(event.created_at)}\r\n"
        f"LAST-MODIFIED:{updated}\r\n{fold('SUMMARY:' + text(event.title))}\r\n"
        f"STATUS:{ics_status(event.status)}\r\nCATEGORIES:{text(event.type.value)}\r\n"
        f"{url}{notes}END:VEVENT\r\n"
    )


def render(content: FeedContent, base_url: str, with_urls: bool = True) -> bytes:
    """The whole feed as bytes: CRLF lines of at most ``LINE_OCTETS`` octets."""
    name = content.project.time_zone
    zone = (name, zone_of(name)) if name != DEFAULT_ZONE else None
    head = [
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n",
        f"PRODID:{PRODID}\r\nCALSCALE:GREGORIAN\r\n",
        # as text, escaped: a line break in the project's name stays in its name
        fold(f"X-WR-CALNAME:{text(content.project.name)}") + "\r\n",
    ]
    if zone is not None:
        head.append(fold(f"X-WR-TIMEZONE:{text(name)}") + "\r\n")
        dated = [event.scheduled_at for event in content.events if event.scheduled_at]
        rules = vtimezone(name, zone[1], dated)  # over every year with a zoned event
        if rules is not None:
            head.append(rules.to_ical().decode())
    uid_host = text(urlsplit(base_url).hostname or "rankion")
    body = [vevent(event, base_url, uid_host, zone, with_urls) for event in content.events]
    return "".join([*head, *body, "END:VCALENDAR\r\n"]).encode()


#: bytes of rendered feeds kept at most (a feed of 2,000 events with long notes is ~20 MB)
FEED_CACHE_BYTES = 64 * 2**20
#: seconds a kept feed is served without reading its events again (clients are told
#: ``max-age=60``)
FEED_FRESH = 30.0


#: feed refreshes (a read of a project's events, and their rendering when they changed)
#: running at once in the process; one team has at most one of them running or queued
#: for a slot, its others wait behind it
FEED_RENDERS = 2
#: requests of one team waiting at most for its feeds' refreshes (the same feed's
#: together, or queued behind the team's one); past it a request is answered with the
#: feed as last rendered, or ``503`` with ``Retry-After`` when none is kept
FEED_WAITING = 8
#: seconds a ``503`` for a busy feed asks the calendar app to wait
FEED_RETRY_AFTER = 10

#: a rendering's identity: the project, the base URL, whether it has URLs
Key = tuple[int, str, bool]


class FeedBusy(Unavailable):
    """The team's feeds have ``FEED_WAITING`` requests waiting and this one's is not kept."""

    def __init__(self) -> None:
        super().__init__("the calendar feed is being rendered; try again shortly")
        self.retry_after = FEED_RETRY_AFTER


class FeedCache:
    """The last rendering of each project's feed, reused while nothing in it changed,
    and the bounds on refreshing feeds.

    At most ``size`` feeds and ``max_bytes`` of them are kept (the least recently used
    go). A feed is refreshed (its events read, and rendered again if they changed) by
    one task that every request for it waits for; a team refreshes one feed at a time,
    and the process at most ``renders`` (one team never holds two). Past ``waiting``
    requests of a team waiting, another is answered at once: with the feed as last
    rendered, or ``FeedBusy``.
    """

    def __init__(
        self,
        size: int = 128,
        max_bytes: int = FEED_CACHE_BYTES,
        clock: Callable[[], float] = time.monotonic,
        renders: int = FEED_RENDERS,
        waiting: int = FEED_WAITING,
    ) -> None:
        self.size = size
        self.max_bytes = max_bytes
        self.clock = clock
        self.waiting = waiting
        self._bytes = 0
        #: per project: the version, the base URL and whether with URLs, the bytes,
        #: when they were last checked
        self._entries: OrderedDict[int, tuple[tuple[Any, ...], bytes, float]] = OrderedDict()
        self._slots = asyncio.Semaphore(renders)
        #: one refresh of a team at a time
        self._teams = TeamTurns()
        #: per team: requests waiting for one of its refreshes
        self._waiting: Counter[int] = Counter()
        self._flight: dict[Key, asyncio.Task[bytes]] = {}

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

    def kept(self, project_id: int, base_url: str, with_urls: bool = True) -> bytes | None:
        """The project's feed as last rendered (for the same base URL), however old."""
        hit = self._entries.get(project_id)
        return hit[1] if hit is not None and hit[0][:2] == (base_url, with_urls) else None

    async def refresh(
        self,
        project: Project,
        read: Callable[[], Awaitable[FeedContent]],
        base_url: str,
        with_urls: bool = True,
    ) -> bytes:
        """The project's feed from its events as ``read`` gives them, within the bounds
        (see the class); the token was checked."""
        team, key = project.team_id, (project.id, base_url, with_urls)
        if self._waiting[team] >= self.waiting:
            body = self.kept(*key)
            if body is None:
                raise FeedBusy()
            return body
        task = self._flight.get(key)
        if task is None:
            task = asyncio.create_task(self._refresh(team, read, base_url, with_urls))
            self._flight[key] = task
            task.add_done_callback(functools.partial(self._landed, key))
        self._waiting[team] += 1
        try:  # a request that goes away leaves the refresh to the others
            return await asyncio.shield(task)
        finally:
            self._waiting[team] -= 1
            if not self._waiting[team]:
                del self._waiting[team]

    async def _refresh(
        self, team: int, read: Callable[[], Awaitable[FeedContent]], base_url: str, with_urls: bool
    ) -> bytes:
        async with self._teams.turn(team), self._slots:
            return await self.render(await read(), base_url, with_urls)

    def _landed(self, key: Key, task: asyncio.Task[bytes]) -> None:
        if self._flight.get(key) is task:
            del self._flight[key]
        if not task.cancelled():
            task.exception()  # retrieved: a refresh whose requests all left may fail alone

    async def render(self, content: FeedContent, base_url: str, with_urls: bool = True) -> bytes:
        """``content`` rendered, or as kept when its version is the one kept."""
        key, stamp = content.project.id, (base_url, with_urls, *content.version)
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
