"""The VTIMEZONE of a calendar feed: the zone's rules wherever the feed has zoned events.

``icalendar``'s ``Timezone.from_tzinfo`` writes 1970-2037 by default, and over a wider
range misses a change that is undone within its first 64-day search step (Casablanca's
hour off for Ramadan). This walks the zone in UTC a day at a time over each year that
holds an event, finds each change to the second, and writes it as RFC 5545 reads it:
an observance's onset is the wall-clock time before the change, in its
``TZOFFSETFROM``. A run of years opens with the rule in effect at its first instant, so
every event's local time maps back to its instant; between two runs (years without
events) the component says nothing true, and nothing is there to be read with it. Two
changes less than a day apart would be missed; no zone has had one since 1900.

Only events of the years ``ZONED_YEARS`` are written in the project's zone. Walking a
zone costs about 0.6 ms a year, and a feed with an event in each of the years 1-9999
took 6 s to render; an event outside is written in UTC, which names the same instant
(a calendar app shows it in its viewer's zone). A year's walk is kept per zone
(``_year``), for good: the zones and years are bounded, so feeds rendered again walk
nothing, whatever a team does to evict them.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, tzinfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

STEP = timedelta(days=1)

#: the UTC years whose events a feed writes in the project's zone; others are in UTC
ZONED_YEARS = range(1900, 2200)

State = tuple[timedelta, timedelta, str]  # offset, DST part, abbreviation
Key = tuple[timedelta, timedelta, str, bool]  # from, to, abbreviation, daylight
Onset = tuple[Key, datetime]


def zoned(at: datetime) -> bool:
    """Whether a feed writes ``at`` in the project's zone (else in UTC)."""
    return at.astimezone(UTC).year in ZONED_YEARS


def _state(at: datetime, zone: tzinfo) -> State:
    local = at.astimezone(zone)
    return local.utcoffset() or timedelta(), local.dst() or timedelta(), local.tzname() or ""


def _change(lo: datetime, hi: datetime, zone: tzinfo, before: State) -> datetime:
    """The first instant in ``(lo, hi]`` whose state is not ``before`` (to the second)."""
    while hi - lo > timedelta(seconds=1):
        mid = lo + timedelta(seconds=int((hi - lo).total_seconds()) // 2)
        lo, hi = (mid, hi) if _state(mid, zone) == before else (lo, mid)
    return hi


@functools.cache  # at most ~600 zones x 300 years of a few onsets each
def _year(zone: tzinfo, year: int) -> tuple[Onset, ...]:
    """The rule in effect as UTC ``year`` begins, then each change within it."""
    at = datetime(year, 1, 1, tzinfo=UTC)
    end = datetime(year + 1, 1, 1, tzinfo=UTC)
    state = _state(at, zone)
    found = [((state[0], state[0], state[2], bool(state[1])), _wall(at, state))]
    while at < end:
        probe = min(at + STEP, end)
        if _state(probe, zone) == state:
            at = probe
            continue
        at = _change(at, probe, zone, state)
        new = _state(at, zone)
        found.append(((state[0], new[0], new[2], bool(new[1])), _wall(at, state)))
        state = new
    return tuple(found)


def _wall(at: datetime, state: State) -> datetime:
    """``at`` as the wall clock showed it under ``state`` (an onset's local time)."""
    return (at + state[0]).replace(tzinfo=None)


def vtimezone(name: str, zone: tzinfo, instants: Iterable[datetime]) -> Timezone | None:
    """A VTIMEZONE for ``zone``, true over every UTC year that holds one of ``instants``
    that is ``zoned``; None when none is."""
    years = {at.astimezone(UTC).year for at in instants if zoned(at)}
    if not years:
        return None
    observances: dict[Key, list[datetime]] = defaultdict(list)
    for year in sorted(years):
        onsets = _year(zone, year)
        joined = year - 1 in years  # the year before ends in the rule this one opens with
        for key, onset in onsets[1:] if joined else onsets:
            observances[key].append(onset)
    component = Timezone()
    component.add("tzid", name)
    for (offset_from, offset_to, abbreviation, daylight), walls in observances.items():
        sub = TimezoneDaylight() if daylight else TimezoneStandard()
        sub.add("dtstart", walls[0])
        if walls[1:]:
            sub.add("rdate", walls[1:])
        sub.add("tzoffsetfrom", offset_from)
        sub.add("tzoffsetto", offset_to)
        sub.add("tzname", abbreviation)
        component.add_component(sub)
    return component
