"""The editorial calendar's events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from attrs import define, field

from rankion_core.models import EventStatus, EventType
from rankion_core.rules.calendar import SHIFT_DAYS_MAX
from rankion_core.rules.limits import NOTES_MAX, TITLE_MAX
from rankion_core.rules.text import NOT_BLANK

from .common import UNSET, Unset, doc

TITLE_DOC = doc(minLength=1, maxLength=TITLE_MAX, pattern=NOT_BLANK)
WHEN_DOC = doc(
    "may be null only while the status is idea; in UTC between 0001-01-01T00:00:00Z and "
    "9999-12-31T23:59:59Z (an offset that moves it outside is 422); a scheduled event in "
    "the past is kept, with a scheduled_in_past warning"
)
ARTICLE_DOC = doc("an article of the same project", minimum=1)
NOTES_DOC = doc(maxLength=NOTES_MAX)


@define(frozen=True)
class CreateEventBody:
    #: only an idea may come without a date (the default status is planned)
    __json_schema__: ClassVar[dict[str, Any]] = {
        "anyOf": [
            {"required": ["status"], "properties": {"status": {"const": "idea"}}},
            {"required": ["scheduled_at"], "properties": {"scheduled_at": {"type": "string"}}},
        ]
    }

    title: str = field(metadata=TITLE_DOC)
    type: EventType = EventType.ARTICLE
    status: EventStatus = EventStatus.PLANNED
    scheduled_at: datetime | None = field(default=None, metadata=WHEN_DOC)
    article_id: int | None = field(default=None, metadata=ARTICLE_DOC)
    notes: str | None = field(default=None, metadata=NOTES_DOC)


@define(frozen=True)
class UpdateEventBody:
    """Fields not sent keep their value; an explicit null clears a nullable one."""

    title: str | Unset = field(default=UNSET, metadata=TITLE_DOC)
    type: EventType | Unset = UNSET
    status: EventStatus | Unset = UNSET
    scheduled_at: datetime | Unset | None = field(default=UNSET, metadata=WHEN_DOC)
    article_id: int | Unset | None = field(default=UNSET, metadata=ARTICLE_DOC)
    notes: str | Unset | None = field(default=UNSET, metadata=NOTES_DOC)


@define(frozen=True)
class EventOut:
    id: int
    project_id: int
    title: str
    type: EventType
    status: EventStatus
    scheduled_at: datetime | None
    scheduled_local: str | None = field(
        metadata=doc(
            "scheduled_at in ISO 8601 with the project's UTC offset at that instant",
            format="date-time",
        )
    )
    article_id: int | None
    notes: str | None
    created_at: datetime
    updated_at: datetime


_DATE_OR_TIME = [{"format": "date-time"}, {"format": "date"}]


@define(frozen=True)
class ShiftBody:
    """Move every event with scheduled_at in [from, to] (and one of statuses, when
    given) by days whole days in the project's time zone, keeping its wall-clock time.
    Published and cancelled events never move. All or nothing."""

    from_: str = field(
        metadata=doc(
            "a date-time with an offset, or a date: from the start of that day in the "
            "project's time zone",
            anyOf=_DATE_OR_TIME,
        )
    )
    to: str = field(
        metadata=doc(
            "a date-time with an offset, or a date: to the end of that day in the "
            "project's time zone",
            anyOf=_DATE_OR_TIME,
        )
    )
    days: int = field(
        metadata=doc(
            "whole days, not 0",
            minimum=-SHIFT_DAYS_MAX,
            maximum=SHIFT_DAYS_MAX,
            **{"not": {"const": 0}},
        )
    )
    statuses: list[EventStatus] | None = field(
        default=None, metadata=doc("only events of these statuses", maxItems=len(EventStatus))
    )


@define(frozen=True)
class ShiftOut:
    moved: int = field(metadata=doc("events moved (each announced by calendar.event.changed)"))
    skipped: int = field(metadata=doc("published or cancelled events in the range, not moved"))


@define(frozen=True)
class DayOut:
    date: date = field(metadata=doc("a day in the project's time zone"))
    total: int
    by_status: dict[str, int] = field(metadata=doc("events of the day per status (only n > 0)"))
