"""UTC normalisation: every time the core stores is timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from ..errors import Invalid


def ensure_utc(value: datetime, field: str = "time") -> datetime:
    """``value`` in UTC; a naive time is rejected (the contract asks for an offset)."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise Invalid(
            f"{field} must carry a UTC offset",
            details={field: "a time without an offset is ambiguous; add Z or +hh:mm"},
        )
    return value.astimezone(UTC)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The first and last representable instants of a UTC day (both inclusive)."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + (timedelta(days=1) - timedelta(microseconds=1))  # 9999-12-31 too


def iso_z(value: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` suffix."""
    text = value.astimezone(UTC).isoformat()
    return text.removesuffix("+00:00") + "Z"
