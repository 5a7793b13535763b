"""Calendar rules: what an event may become.

- ``scheduled_at`` may be null only while the status is ``idea``;
- a ``published`` event is history: its ``scheduled_at`` never changes and its status
  may only become ``cancelled`` (re-sending the same value is not a change).
"""

from __future__ import annotations

from datetime import datetime

from attrs import define

from ..errors import Conflict, Invalid
from ..models import CalendarEvent, EventStatus, EventType
from . import limits, text
from .timeutil import ensure_utc

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
