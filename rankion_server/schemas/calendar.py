"""The editorial calendar's events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from attrs import define, field

from rankion_core.models import EventStatus, EventType
from rankion_core.rules.limits import NOTES_MAX, TITLE_MAX

from .common import UNSET, Unset, doc

TITLE_DOC = doc(minLength=1, maxLength=TITLE_MAX)
WHEN_DOC = doc("may be null only while the status is idea")
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
    article_id: int | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
