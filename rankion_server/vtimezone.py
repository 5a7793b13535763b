"""The VTIMEZONE of a calendar feed: the zone's rules wherever the feed has events.

A feed's events may lie in any year from 1 to 9999. ``icalendar``'s
``Timezone.from_tzinfo`` writes 1970-2037 by default; over a wider range it misses a
change that is undone within its first 64-day search step (Casablanca's hour off for
Ramadan) and fails on a change in the last weeks of 9999. This walks the zone in UTC a
day at a time over each year that holds an event (adjacent years join), finds each
change to the second, and writes it as RFC 5545 reads it: an observance's onset is
the wall-clock time before the change, in its ``TZOFFSETFROM``. Each stretch opens
with the rule in effect at its first instant, so every event's local time maps back to
its instant; between two stretches (years without events) the component says
nothing true, and nothing is there to be read with it. Two changes less than a day
apart would be missed; no zone has had one in a year holding an event of ours.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

STEP = timedelta(days=1)
#: a day inside the years datetime can hold, so that every local time of a walk exists
#: (a walk from FIRST opens at the first wall-clock time there is: year 1 has no change)
FIRST = datetime(1, 1, 2, tzinfo=UTC)
LAST = datetime(9999, 12, 31, tzinfo=UTC)

State = tuple[timedelta, timedelta, str]  # offset, DST part, abbreviation
Key = tuple[timedelta, timedelta, str, bool]  # from, to, abbreviation, daylight


def _state(at: datetime, zone: tzinfo) -> State:
    local = at.astimezone(zone)
    return local.utcoffset() or timedelta(), local.dst() or timedelta(), local.tzname() or ""


def stretches(instants: Iterable[datetime]) -> list[tuple[datetime, datetime]]:
    """The UTC years that hold the instants, adjacent ones joined, inside FIRST-LAST."""
    years = sorted({at.astimezone(UTC).year for at in instants})
    joined: list[tuple[datetime, datetime]] = []
    for year in years:
        start = max(datetime(year, 1, 1, tzinfo=UTC), FIRST)
        end = min(datetime(year + 1, 1, 1, tzinfo=UTC) if year < 9999 else LAST, LAST)
        if joined and joined[-1][1] >= start:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return joined


def _change(lo: datetime, hi: datetime, zone: tzinfo, before: State) -> datetime:
    """The first instant in ``(lo, hi]`` whose state is not ``before`` (to the second)."""
    while hi - lo > timedelta(seconds=1):
        mid = lo + timedelta(seconds=int((hi - lo).total_seconds()) // 2)
        lo, hi = (mid, hi) if _state(mid, zone) == before else (lo, mid)
    return hi


def _onsets(zone: tzinfo, start: datetime, end: datetime) -> Iterable[tuple[Key, datetime]]:
    state = _state(start, zone)
    opening = datetime.min if start == FIRST else (start + state[0]).replace(tzinfo=None)
    yield (state[0], state[0], state[2], bool(state[1])), opening
    at = start
    while at < end:
        probe = min(at + STEP, end)
        if _state(probe, zone) == state:
            at = probe
            continue
        at = _change(at, probe, zone, state)
        new = _state(at, zone)
        yield (state[0], new[0], new[2], bool(new[1])), (at + state[0]).replace(tzinfo=None)
        state = new


def vtimezone(name: str, zone: tzinfo, instants: Iterable[datetime]) -> Timezone:
    """A VTIMEZONE for ``zone``, true over every UTC year that holds one of ``instants``."""
    observances: dict[Key, list[datetime]] = defaultdict(list)
    for start, end in stretches(instants):
        for key, onset in _onsets(zone, start, end):
            observances[key].append(onset)
    component = Timezone()
    component.add("tzid", name)
    for (offset_from, offset_to, abbreviation, daylight), onsets in observances.items():
        sub = TimezoneDaylight() if daylight else TimezoneStandard()
        sub.add("dtstart", onsets[0])
        if onsets[1:]:
            sub.add("rdate", onsets[1:])
        sub.add("tzoffsetfrom", offset_from)
        sub.add("tzoffsetto", offset_to)
        sub.add("tzname", abbreviation)
        component.add_component(sub)
    return component
