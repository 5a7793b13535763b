"""UTC normalisation: every time the core stores is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo

from ..errors import Invalid


def ensure_utc(value: datetime, field: str = "time") -> datetime:
    """``value`` in UTC; a naive time is rejected (the contract asks for an offset)."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise Invalid(
            f"{field} must carry a UTC offset",
            details={field: "a time without an offset is ambiguous; add Z or +hh:mm"},
        )
    return value.astimezone(UTC)


def day_start(day: date, zone: tzinfo = UTC) -> datetime:
    """The first instant of ``day`` in ``zone``, in UTC. Where midnight does not exist
    (a transition at 00:00), the day starts at the transition."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def day_bounds(day: date, zone: tzinfo = UTC) -> tuple[datetime, datetime]:
    """The first and last representable instants of a day in ``zone`` (both inclusive),
    in UTC; a day may last 23, 24 or 25 hours."""
    start = day_start(day, zone)
    if day == date.max:
        return start, start + (timedelta(days=1) - timedelta(microseconds=1))
    return start, day_start(day + timedelta(days=1), zone) - timedelta(microseconds=1)


def iso_z(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix."""
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"
