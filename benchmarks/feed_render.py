"""The rendering of one calendar feed of ``FEED_EVENTS_MAX`` (2,000) events.

    .venv/bin/python -m benchmarks.feed_render [--events N] [--runs R]

One Europe/Berlin project, N events an hour apart over a year, half with a line of
notes. In the same run, each R times (the median printed, in ms):

- ``icalendar`` the baseline: the feed as ``icalendar`` writes it (``to_ical``), the
  rendering the serializer replaced (``tests.api.test_feed_render.reference``);
- ``icalendar, VEVENTs kept`` the other option weighed: each VEVENT's bytes kept by
  (id, updated_at, zone), the feed joined from them, after one event changed (one
  VEVENT rendered); its first rendering is the baseline's;
- ``serializer`` the feed's own serializer (``rankion_server.ics.render``), every time
  from the events;
- ``fingerprint, tuples`` and ``version``: what the kept feed was compared by (a tuple
  of every field of every event) and what it is now (``rules.feeds.version``).

Ratios are against the baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar

from rankion_core.models import CalendarEvent, EventStatus, EventType, Project
from rankion_core.rules import feeds as rules
from rankion_core.services.feeds import FeedContent
from rankion_server.ics import render
from tests.api.test_feed_render import reference

BASE = "https://cal.example.com"
START = datetime(2026, 1, 1, tzinfo=UTC)


def content(events: int, changed: int = -1) -> FeedContent:
    statuses = list(EventStatus)
    items = [
        CalendarEvent(
            n + 1, 1, 1, f"Post {n}" + (" (changed)" if n == changed else ""), EventType.ARTICLE,
            statuses[n % len(statuses)], START + timedelta(hours=4 * n), None,
            "Hero image from the gallery; then social posts." if n % 2 else None,
            START, START + timedelta(seconds=n + (1 if n == changed else 0)),
        )
        for n in range(events)
    ]  # fmt: skip
    return FeedContent(Project(1, 1, "Blog", START, "Europe/Berlin"), items)


class KeptVevents:
    """The option not taken: ``icalendar`` for each VEVENT, its bytes kept."""

    def __init__(self) -> None:
        self.kept: dict[tuple[int, datetime, str], bytes] = {}

    def render(self, feed: FeedContent) -> bytes:
        head = reference(FeedContent(feed.project, []), BASE).removesuffix(b"END:VCALENDAR\r\n")
        parts = [head]
        for event in feed.events:
            key = (event.id, event.updated_at, feed.project.time_zone)
            if key not in self.kept:
                one = Calendar.from_ical(reference(FeedContent(feed.project, [event]), BASE))
                self.kept[key] = next(iter(one.walk("VEVENT"))).to_ical()
            parts.append(self.kept[key])
        return b"".join([*parts, b"END:VCALENDAR\r\n"])


def _fingerprint(feed: FeedContent) -> tuple[Any, ...]:
    """The fingerprint the kept feed was compared by before ``version``."""
    events = tuple(
        (e.id, e.title, e.type, e.status, e.scheduled_at, e.notes, e.created_at, e.updated_at)
        for e in feed.events
    )
    return (feed.project.name, feed.project.time_zone, events)


def median_ms(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=rules.FEED_EVENTS_MAX)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    feed, changed = content(args.events), content(args.events, changed=args.events // 2)
    kept = KeptVevents()
    kept.render(feed)  # every VEVENT kept
    render(feed, BASE)  # the zone's years walked once, as in a running server
    moved = changed.events[args.events // 2]
    one = (moved.id, moved.updated_at, changed.project.time_zone)

    def one_changed() -> bytes:
        kept.kept.pop(one, None)  # each run renders the changed event anew
        return kept.render(changed)

    stamp, version = _fingerprint(feed), rules.version(feed.project, feed.events)
    rows = {
        "icalendar (baseline)": median_ms(lambda: reference(feed, BASE), args.runs),
        "icalendar, VEVENTs kept, one changed": median_ms(one_changed, args.runs),
        "serializer": median_ms(lambda: render(feed, BASE), args.runs),
        "fingerprint, tuples": median_ms(lambda: _fingerprint(feed) == stamp, 25),
        "version": median_ms(lambda: rules.version(feed.project, feed.events) == version, 25),
    }
    base = rows["icalendar (baseline)"]
    print(f"{args.events} events, {len(render(feed, BASE)):,} bytes, median of {args.runs}")
    for name, ms in rows.items():
        print(f"{name:40} {ms:9.2f} ms   {base / ms:7.1f}x faster than the baseline")


if __name__ == "__main__":
    main()
