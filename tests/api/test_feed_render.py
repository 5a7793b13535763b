"""The feed's own serializer against ``icalendar``: every value it writes is parsed
back by the library as the event holds it, property by property as in a feed the
library writes itself (``reference``, the rendering the serializer replaced), with
lines of at most 75 octets folded where RFC 5545 lets them be."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar, Event, vText

from rankion_core.models import CalendarEvent, EventStatus, EventType, Project
from rankion_core.rules import feeds as rules
from rankion_core.rules.calendar import DEFAULT_ZONE, local_time, zone_of
from rankion_core.services.feeds import FeedContent
from rankion_core.testing.builders import T0
from rankion_server.ics import LINE_OCTETS, PRODID, app_url, fold, render, text
from rankion_server.vtimezone import vtimezone, zoned

BASE = "https://cal.example.com"
#: any character but a surrogate or a control other than a tab or a line break (TEXT
#: has no way to write those)
CONTROLS = [chr(c) for c in range(32) if c not in (9, 10, 13)]
CHARS = st.characters(blacklist_categories=("Cs",), blacklist_characters=CONTROLS)
TEXT = st.text(CHARS, max_size=300) | st.sampled_from(
    ["a;b,c\\d", "\\" * 151, "é" * 80, "😀" * 40, "x\r\ny\rz\n", "\\n literal", "a" * 74 + "\\,"]
)


def reference(content: FeedContent, base_url: str, with_urls: bool = True) -> bytes:
    """The feed as ``icalendar`` writes it (how it was rendered before)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", vText(content.project.name))
    host = urlsplit(base_url).hostname or "rankion"
    name = content.project.time_zone
    zone: tzinfo | None = zone_of(name) if name != DEFAULT_ZONE else None
    if zone is not None:
        calendar.add("x-wr-timezone", name)
        dated = [e.scheduled_at for e in content.events if e.scheduled_at]
        component = vtimezone(name, zone, dated)
        if component is not None:
            calendar.add_component(component)
    for event in content.events:
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
        vevent.add("status", rules.ics_status(event.status))
        vevent.add("categories", [event.type.value])
        if with_urls:
            vevent.add("url", app_url(event, base_url, zone))
        if event.notes:
            vevent.add("description", event.notes)
        calendar.add_component(vevent)
    return bytes(calendar.to_ical())


def event(n: int, title: str = "Post", notes: str | None = None, **kw: Any) -> CalendarEvent:
    fields: dict[str, Any] = {
        "id": n, "team_id": 1, "project_id": 3, "title": title, "type": EventType.NEWSLETTER,
        "status": EventStatus.SCHEDULED, "scheduled_at": T0 + timedelta(hours=7 * n),
        "article_id": None, "notes": notes, "created_at": T0,
        "updated_at": T0 + timedelta(seconds=n, microseconds=250),
    }  # fmt: skip
    return CalendarEvent(**{**fields, **kw})


def parsed(body: bytes) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The calendar's own properties and each VEVENT's, decoded by ``icalendar``."""
    calendar = Calendar.from_ical(body)

    def props(component: Any) -> dict[str, Any]:
        return {key: component.decoded(key) for key in component}

    return props(calendar), [props(e) for e in calendar.walk("VEVENT")]


def physical_lines(body: bytes) -> list[bytes]:
    assert body.endswith(b"\r\n")
    lines = body[:-2].split(b"\r\n")
    assert all(b"\r" not in line and b"\n" not in line for line in lines)
    return lines


def check_lines(body: bytes) -> None:
    for line in physical_lines(body):
        assert len(line) <= LINE_OCTETS
        line.decode()  # never split inside a character


def zoned_content(zone: str, events: list[CalendarEvent], name: str = "Blog") -> FeedContent:
    return FeedContent(Project(3, 1, name, T0, zone), events)


def test_a_feed_reads_back_as_the_library_writes_it() -> None:
    events = [
        event(1, "AI Coding Tools — Launch Post", "Hero image;\nthen social posts, all."),
        event(2, "a;b,c\\d", "😀" * 50, status=EventStatus.CANCELLED),
        event(3, "far", scheduled_at=datetime(2400, 3, 1, 9, tzinfo=UTC)),  # UTC, outside
        event(4, "x" * 300, "\\" * 151, status=EventStatus.IDEA, type=EventType.SOCIAL_POST),
    ]
    for zone in ("UTC", "Europe/Berlin", "Australia/Lord_Howe"):
        for with_urls in (True, False):
            content = zoned_content(zone, events, name="Plan\nA, B; C")
            body = render(content, BASE, with_urls)
            check_lines(body)
            assert parsed(body) == parsed(reference(content, BASE, with_urls))
    berlin = render(zoned_content("Europe/Berlin", events), BASE)
    assert b"DTSTART;TZID=Europe/Berlin:20250301T200000\r\n" in berlin  # 19:00 UTC
    assert b"DTSTART:24000301T090000Z\r\n" in berlin  # outside the zoned years
    assert b"DTSTART:20250301T190000Z\r\n" in render(zoned_content("UTC", events), BASE)


@given(title=TEXT, notes=TEXT, name=TEXT)
def test_any_text_reads_back_as_written(title: str, notes: str, name: str) -> None:
    content = zoned_content("Asia/Kathmandu", [event(1, title or "t", notes or None)], name)
    body = render(content, BASE)
    check_lines(body)
    calendar, (vevent,) = parsed(body)
    expected_title = (title or "t").replace("\r\n", "\n").replace("\r", "\n")
    assert vevent["SUMMARY"] == expected_title
    if notes:
        assert vevent["DESCRIPTION"] == notes.replace("\r\n", "\n").replace("\r", "\n")
    assert calendar["X-WR-CALNAME"] == text(name)  # the library leaves x-properties as written


@given(st.text(CHARS, max_size=400))
def test_folding_keeps_every_line_within_75_octets_and_unfolds_to_the_line(value: str) -> None:
    line = "DESCRIPTION:" + text(value)
    folded = fold(line).encode()
    check_lines(folded + b"\r\n")
    assert folded.replace(b"\r\n ", b"") == line.encode()
    for piece in folded.split(b"\r\n "):  # no piece ends in the middle of an escape
        assert (len(piece) - len(piece.rstrip(b"\\"))) % 2 == 0


def test_times_are_written_to_the_second() -> None:
    at = datetime(1, 1, 1, 0, 0, 5, 999_999, tzinfo=UTC)
    body = render(zoned_content("UTC", [event(1, scheduled_at=at, updated_at=at)]), BASE)
    assert b"DTSTART:00010101T000005Z\r\n" in body
    assert b"DTSTAMP:00010101T000005Z\r\n" in body
    assert b"LAST-MODIFIED:00010101T000005Z\r\n" in body
