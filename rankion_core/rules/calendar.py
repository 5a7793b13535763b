"""Calendar rules: what an event may become, and where it sits in its project's zone.

- ``scheduled_at`` may be null only while the status is ``idea``;
- a ``published`` event is history: its ``scheduled_at`` never changes and its status
  may only become ``cancelled`` (re-sending the same value is not a change);
- a ``scheduled`` event whose time has passed is allowed (a late entry, a back-filled
  plan) but worth a warning: it is either overdue or already out and not marked so;
- instants are stored in UTC; a project's IANA ``time_zone`` decides its local days and
  wall-clock times. A shift by whole days keeps the wall-clock time: where that time
  does not exist on the target day (a gap), the event moves forward by the gap; where
  it exists twice (an overlap), it keeps the occurrence it had (the first one when it
  had no choice). ``docs/calendar.md`` has the worked examples.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from enum import Enum
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from attrs import define

from ..errors import Conflict, Invalid
from ..models import CalendarEvent, EventStatus, EventType
from . import limits, text
from .timeutil import day_bounds, ensure_utc, iso_z

UNSET = object()


@define(frozen=True)
class EventDraft:
    """A new event's fields, before rules apply."""

    title: str
    type: EventType = EventType.ARTICLE
    status: EventStatus = EventStatus.PLANNED
    scheduled_at: datetime | None = None
    article_id: int | None = None
    notes: str | None = None


@define(frozen=True)
class EventChange:
    """A PUT: ``None`` for a field means "not sent"; ``clear_*`` sends an explicit null."""

    title: str | None = None
    type: EventType | None = None
    status: EventStatus | None = None
    scheduled_at: datetime | None = None
    clear_scheduled_at: bool = False
    article_id: int | None = None
    clear_article_id: bool = False
    notes: str | None = None
    clear_notes: bool = False


@define(frozen=True)
class Advice:
    """Something a write did that is allowed but probably not meant."""

    code: str
    message: str


SCHEDULED_IN_PAST = "scheduled_in_past"


def advice(event: CalendarEvent, *, now: datetime) -> list[Advice]:
    """What to tell the writer of ``event`` (as it is after the write)."""
    at = event.scheduled_at
    if event.status is not EventStatus.SCHEDULED or at is None or at >= now:
        return []
    message = (
        f"scheduled_at {iso_z(at)} is in the past: mark the event published if it went "
        "out, or move it to a later time"
    )
    return [Advice(SCHEDULED_IN_PAST, message)]


def _check_schedule(status: EventStatus, scheduled_at: datetime | None) -> None:
    if scheduled_at is None and status is not EventStatus.IDEA:
        raise Invalid(
            "scheduled_at is required unless the status is idea",
            details={"scheduled_at": f"required for status {status.value}"},
        )


def _check_notes(notes: str | None) -> str | None:
    if notes is not None:
        text.check_length("notes", notes, low=0, high=limits.NOTES_MAX)
    return notes


def _check_article(article_id: int | None) -> None:
    if article_id is not None and article_id < 1:
        raise Invalid("article_id must be positive", details={"article_id": "must be positive"})


def new_event(draft: EventDraft, *, team_id: int, project_id: int, now: datetime) -> CalendarEvent:
    scheduled_at = ensure_utc(draft.scheduled_at, "scheduled_at") if draft.scheduled_at else None
    _check_schedule(draft.status, scheduled_at)
    _check_article(draft.article_id)
    return CalendarEvent(
        id=0,
        team_id=team_id,
        project_id=project_id,
        title=text.required_title(draft.title),
        type=draft.type,
        status=draft.status,
        scheduled_at=scheduled_at,
        article_id=draft.article_id,
        notes=_check_notes(draft.notes),
        created_at=now,
        updated_at=now,
    )


def _published_guard(event: CalendarEvent, status: EventStatus, at: datetime | None) -> None:
    if event.status is not EventStatus.PUBLISHED:
        return
    if status not in (EventStatus.PUBLISHED, EventStatus.CANCELLED):
        raise Conflict(
            "a published event may only be cancelled",
            code="event_published",
            details={"status": "published events may only become cancelled"},
        )
    if at != event.scheduled_at:
        raise Conflict(
            "a published event's scheduled_at cannot change",
            code="event_published",
            details={"scheduled_at": "published events keep their date"},
        )


def apply_change(event: CalendarEvent, change: EventChange, *, now: datetime) -> CalendarEvent:
    """Apply ``change`` to ``event`` in place and return it; raise before touching it."""
    status = change.status if change.status is not None else event.status
    if change.clear_scheduled_at:
        at: datetime | None = None
    elif change.scheduled_at is not None:
        at = ensure_utc(change.scheduled_at, "scheduled_at")
    else:
        at = event.scheduled_at
    _published_guard(event, status, at)
    _check_schedule(status, at)
    title = text.required_title(change.title) if change.title is not None else event.title
    if change.clear_article_id:
        article_id = None
    else:
        article_id = change.article_id if change.article_id is not None else event.article_id
    _check_article(article_id)
    if change.clear_notes:
        notes = None
    else:
        notes = _check_notes(change.notes) if change.notes is not None else event.notes
    event.title, event.status, event.scheduled_at = title, status, at
    event.type = change.type or event.type
    event.article_id, event.notes = article_id, notes
    event.updated_at = now
    return event


# --------------------------------------------------------------------------- time zones

DEFAULT_ZONE = "UTC"
ZONE_NAME_MAX = 64
#: how far one shift may move events, in days either way (about 100 years)
SHIFT_DAYS_MAX = 36_600
#: how many local days one ``days`` query may cover
DAYS_RANGE_MAX = 366
#: names the zone database answers to that are not IANA zones
_NOT_ZONES = frozenset({"localtime", "posixrules"})
#: statuses a shift never moves
FIXED_STATUSES = frozenset({EventStatus.PUBLISHED, EventStatus.CANCELLED})


@cache
def zone_names() -> frozenset[str]:
    """The names ``check_zone`` accepts."""
    return frozenset(available_timezones()) - _NOT_ZONES


def check_zone(name: str, field: str = "time_zone") -> str:
    """``name`` if it is an IANA zone name (``Europe/Berlin``), else ``Invalid``."""
    if not (0 < len(name) <= ZONE_NAME_MAX) or name not in zone_names():
        raise Invalid(
            "unknown time zone", details={field: "an IANA time zone name such as Europe/Berlin"}
        )
    return name


def zone_of(name: str) -> ZoneInfo:
    """The zone of a stored (already checked) name."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # the zone database lost it: serve UTC
        return ZoneInfo(DEFAULT_ZONE)


def local_time(at: datetime, zone: tzinfo) -> datetime:
    """``at`` in ``zone``; in UTC when its local time would leave the years 1-9999 (the
    first hours of year 1 west of UTC, the last of 9999 east of it)."""
    try:
        return at.astimezone(zone)
    except OverflowError:
        return at.astimezone(UTC)


def local_iso(at: datetime, zone: tzinfo) -> str:
    """``at`` as ISO 8601 with the zone's offset at that instant (``…T11:00:00+02:00``).

    An offset with seconds (local mean time before a zone's first standard time, such
    as +11:39:04 in Sydney before 1895) is not RFC 3339: it is rounded to the minute,
    and the wall-clock time written with it still names the same instant. An instant
    whose local time would leave the years 1-9999 is written in UTC (``local_time``)."""
    local = local_time(at, zone)
    offset = local.utcoffset() or timedelta()
    if offset % timedelta(minutes=1):
        minutes = round(offset.total_seconds() / 60)
        local = at.astimezone(timezone(timedelta(minutes=minutes)))
    return local.isoformat()


def event_fields(event: CalendarEvent, zone: tzinfo) -> dict[str, Any]:
    """The API's Event, field by field in its order (times as UTC datetimes, enums as
    members): the server's answer is built from it, and ``public_event`` writes it for
    a ``calendar.event.changed`` delivery. ``zone`` is the project's, for
    ``scheduled_local``."""
    at = event.scheduled_at
    return {
        "id": event.id,
        "project_id": event.project_id,
        "title": event.title,
        "type": event.type,
        "status": event.status,
        "scheduled_at": at,
        "scheduled_local": local_iso(at, zone) if at else None,
        "article_id": event.article_id,
        "notes": event.notes,
        "created_at": event.created_at,
        "updated_at": event.updated_at,
    }


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_z(value)
    return value.value if isinstance(value, Enum) else value


def public_event(event: CalendarEvent, zone: tzinfo) -> dict[str, Any]:
    """``event_fields`` as the API's JSON writes them (``iso_z`` times, enum values)."""
    return {name: _json(value) for name, value in event_fields(event, zone).items()}


def _wall(at: datetime, zone: tzinfo) -> datetime:
    return at.astimezone(zone).replace(tzinfo=None)


def resolve_wall(wall: datetime, zone: tzinfo, fold: int = 0) -> datetime:
    """The UTC instant of a naive wall-clock time in ``zone``.

    An ambiguous time (an overlap) takes occurrence ``fold`` (0 the first, 1 the
    second); a time that does not exist (a gap) moves forward by the gap.
    """
    chosen = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
    if _wall(chosen, zone) == wall:
        return chosen
    # in a gap: fold=0 reads it with the offset before the transition, which lands
    # the same distance past the transition as the time was past its start
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def shift_instant(at: datetime, days: int, zone: tzinfo) -> datetime:
    """``at`` moved by ``days`` whole days of ``zone``, keeping its wall-clock time."""
    local = at.astimezone(zone)
    try:
        wall = local.replace(tzinfo=None) + timedelta(days=days)
        return resolve_wall(wall, zone, local.fold)
    except OverflowError:
        raise Invalid(
            "the shift moves an event out of the supported years",
            details={"days": "too far for an event in the range"},
        ) from None


def check_shift_days(days: int) -> int:
    if days == 0 or abs(days) > SHIFT_DAYS_MAX:
        raise Invalid(
            "days must be a non-zero number of days",
            details={"days": f"a non-zero integer from -{SHIFT_DAYS_MAX} to {SHIFT_DAYS_MAX}"},
        )
    return days


def shift_event(event: CalendarEvent, days: int, zone: tzinfo, *, now: datetime) -> bool:
    """Move ``event`` by ``days`` in place; False (untouched) for a published or
    cancelled event, or one without a date."""
    if event.status in FIXED_STATUSES or event.scheduled_at is None:
        return False
    event.scheduled_at = shift_instant(event.scheduled_at, days, zone)
    event.updated_at = now
    return True


def local_date(at: datetime, zone: tzinfo) -> date:
    return at.astimezone(zone).date()


def local_days(
    start: datetime, end: datetime, zone: tzinfo
) -> list[tuple[date, datetime, datetime]]:
    """``(day, first, last)`` for every local day of ``zone`` that ``[start, end]``
    touches, its bounds inclusive and clipped to the range; at most ``DAYS_RANGE_MAX``."""
    first, last = local_date(start, zone), local_date(end, zone)
    if (last - first).days >= DAYS_RANGE_MAX:
        raise Invalid(
            "the range is too long",
            details={"to": f"at most {DAYS_RANGE_MAX} days after from"},
        )
    days = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        low, high = day_bounds(day, zone)
        days.append((day, max(low, start), min(high, end)))
    return days


@define(frozen=True)
class DayCount:
    """One local day of a project's calendar: how many events, by status."""

    date: date
    total: int
    by_status: dict[EventStatus, int]


def day_counts(rows: Iterable[tuple[date, EventStatus, int]]) -> list[DayCount]:
    """Storage's ``(day, status, n)`` rows as one ``DayCount`` per day, in date order."""
    days: dict[date, dict[EventStatus, int]] = {}
    for day, status, n in rows:
        counts = days.setdefault(day, {})
        counts[status] = counts.get(status, 0) + n
    return [
        DayCount(day, sum(counts.values()), {s: counts[s] for s in EventStatus if s in counts})
        for day, counts in sorted(days.items())
    ]
