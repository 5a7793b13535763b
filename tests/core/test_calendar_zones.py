"""The calendar's time-zone rules, pure: wall-clock shifts across DST, local days, zones.

Properties run over a sample of IANA zones chosen for their oddities: DST in both
hemispheres, half-hour DST (Lord Howe), negative DST (Dublin), transitions at midnight
(Santiago, Havana), quarter-hour offsets (Kathmandu, Chatham), a skipped calendar day
(Apia, 30 December 2011) and no DST at all.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rankion_core.errors import Invalid
from rankion_core.models import CalendarEvent, EventStatus, EventType
from rankion_core.rules.calendar import (
    DAYS_RANGE_MAX,
    check_zone,
    local_days,
    local_iso,
    resolve_wall,
    shift_event,
    shift_instant,
)
from rankion_core.rules.timeutil import day_bounds


def event_at(at: datetime, status: EventStatus) -> CalendarEvent:
    created = datetime(2025, 1, 1, tzinfo=UTC)
    return CalendarEvent(
        0, 1, 1, "Post", EventType.ARTICLE, status, at, None, None, created, created
    )


ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Europe/London",
    "Europe/Dublin",
    "Australia/Sydney",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/Havana",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Asia/Kolkata",
    "America/St_Johns",
    "Africa/Casablanca",
]
#: CI runs every property here with at least 500 examples
EXAMPLES = 500 if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else 150

zones = st.sampled_from(ZONES).map(ZoneInfo)
instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
)
shifts = st.integers(min_value=-800, max_value=800).filter(bool)


def wall(at: datetime, zone: ZoneInfo) -> datetime:
    return at.astimezone(zone).replace(tzinfo=None)


def gap_at(naive: datetime, zone: ZoneInfo) -> timedelta:
    """How much a wall-clock time falls into a gap: zero when it exists."""
    before = naive.replace(tzinfo=zone, fold=0).utcoffset()
    after = naive.replace(tzinfo=zone, fold=1).utcoffset()
    assert before is not None and after is not None
    exists = wall(naive.replace(tzinfo=zone).astimezone(UTC), zone) == naive
    return timedelta(0) if exists else after - before


def regular(naive: datetime, zone: ZoneInfo) -> bool:
    """The wall-clock time exists exactly once."""
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return first == second and wall(first, zone) == naive


@settings(max_examples=EXAMPLES)
@given(zone=zones, at=instants, days=shifts)
def test_a_shift_keeps_the_wall_clock_time_or_moves_forward_by_the_gap(
    zone: ZoneInfo, at: datetime, days: int
) -> None:
    moved = shift_instant(at, days, zone)
    wanted = wall(at, zone) + timedelta(days=days)
    assert moved.tzinfo is UTC
    assert wall(moved, zone) == wanted + gap_at(wanted, zone)


@settings(max_examples=EXAMPLES)
@given(zone=zones, at=instants, days=shifts)
def test_a_shift_and_its_reverse_restore_the_instant(
    zone: ZoneInfo, at: datetime, days: int
) -> None:
    there = wall(at, zone) + timedelta(days=days)
    # where a wall-clock time is missing or doubled, two instants share one image: no
    # rule can undo that (docs/calendar.md); everywhere else the round trip is exact
    assume(regular(wall(at, zone), zone) and regular(there, zone))
    assert shift_instant(shift_instant(at, days, zone), -days, zone) == at


def test_an_overlap_keeps_the_occurrence_the_event_had() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 02:30 on the last Sundays of October 2025 and 2026, 364 days apart, both doubled
    for first in (
        datetime(2025, 10, 26, 0, 30, tzinfo=UTC),
        datetime(2025, 10, 26, 1, 30, tzinfo=UTC),
    ):
        moved = shift_instant(first, 364, berlin).astimezone(berlin)
        assert moved.replace(tzinfo=None) == datetime(2026, 10, 25, 2, 30)
        assert moved.fold == first.astimezone(berlin).fold
        assert shift_instant(moved, -364, berlin) == first


@settings(max_examples=EXAMPLES)
@given(zone=zones, day=st.dates(min_value=date(1990, 1, 1), max_value=date(2040, 12, 31)))
def test_local_days_tile_time(zone: ZoneInfo, day: date) -> None:
    start, end = day_bounds(day, zone)
    following, _ = day_bounds(day + timedelta(days=1), zone)
    assert following - end == timedelta(microseconds=1)
    assert start.astimezone(zone).date() == day == end.astimezone(zone).date()


def test_berlin_and_new_york_across_their_transitions() -> None:
    berlin, new_york = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
    friday_nine = datetime(2026, 3, 27, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert local_iso(shift_instant(friday_nine, 3, berlin), berlin) == "2026-03-30T09:00:00+02:00"
    # 02:30 does not exist on Sunday 29 March in Berlin: 03:30 CEST, forward by the gap
    saturday = datetime(2026, 3, 28, 1, 30, tzinfo=UTC)  # 02:30 CET
    assert local_iso(shift_instant(saturday, 1, berlin), berlin) == "2026-03-29T03:30:00+02:00"
    # 02:30 exists twice on Sunday 25 October: an event keeps the first, CEST
    assert (
        local_iso(shift_instant(datetime(2026, 10, 24, 0, 30, tzinfo=UTC), 1, berlin), berlin)
        == "2026-10-25T02:30:00+02:00"
    )
    # New York: 02:30 on 8 March 2026 does not exist; 01:30 on 1 November exists twice
    assert (
        local_iso(shift_instant(datetime(2026, 3, 7, 7, 30, tzinfo=UTC), 1, new_york), new_york)
        == "2026-03-08T03:30:00-04:00"
    )
    second = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, the second one
    assert second.astimezone(new_york).fold == 1
    assert local_iso(shift_instant(second, 7, new_york), new_york) == "2026-11-08T01:30:00-05:00"
    assert shift_instant(shift_instant(second, 7, new_york), -7, new_york) == datetime(
        2026, 11, 1, 5, 30, tzinfo=UTC
    )  # the week back lands on the first 01:30: a doubled time has no inverse


def test_resolve_wall_in_a_gap_moves_forward() -> None:
    apia = ZoneInfo("Pacific/Apia")  # 30 December 2011 never happened there
    moved = resolve_wall(datetime(2011, 12, 30, 9, 0), apia)
    assert moved.astimezone(apia).replace(tzinfo=None) == datetime(2011, 12, 31, 9, 0)


def test_published_and_cancelled_events_never_move() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    at = datetime(2026, 5, 15, 9, tzinfo=UTC)
    for status in EventStatus:
        event = event_at(at, status)
        moved = shift_event(event, 2, ZoneInfo("Europe/Berlin"), now=now)
        fixed = status in (EventStatus.PUBLISHED, EventStatus.CANCELLED)
        assert moved is not fixed
        assert event.scheduled_at == (at if fixed else at + timedelta(days=2))
        assert event.updated_at == (event.created_at if fixed else now)


def test_a_shift_out_of_the_years_is_invalid() -> None:
    with pytest.raises(Invalid):
        shift_instant(datetime(9999, 12, 30, tzinfo=UTC), 5, ZoneInfo("UTC"))


@pytest.mark.parametrize("name", ["Europe/Berlin", "UTC", "America/Argentina/Buenos_Aires"])
def test_iana_names_are_zones(name: str) -> None:
    assert check_zone(name) == name


@pytest.mark.parametrize("name", ["", "localtime", "posixrules", "europe/berlin", "/etc/passwd"])
def test_other_names_are_not(name: str) -> None:
    with pytest.raises(Invalid):
        check_zone(name)


def test_local_days_clip_to_the_range_and_stop_at_366() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 3, 29, 12, tzinfo=UTC)
    end = datetime(2026, 3, 30, 12, tzinfo=UTC)
    days = local_days(start, end, berlin)
    assert days[0] == (
        date(2026, 3, 29),
        start,
        datetime(2026, 3, 29, 21, 59, 59, 999999, tzinfo=UTC),
    )
    assert days[-1][2] == end
    year = datetime(2027, 1, 1, tzinfo=UTC)
    assert len(local_days(year, year + timedelta(days=DAYS_RANGE_MAX - 1), berlin)) == 366
    with pytest.raises(Invalid):
        local_days(year, year + timedelta(days=DAYS_RANGE_MAX), berlin)
