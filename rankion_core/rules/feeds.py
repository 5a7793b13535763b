"""Calendar feed tokens, and how an event's status reads in iCalendar.

A feed token is a bearer secret in a URL (calendar apps cannot send headers), so it
carries 256 random bits and is stored only as its SHA-256 digest; the public side
looks a token up by its digest. Issuing a new token for a project replaces the old.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from ..models import CalendarEvent, CalendarFeed, EventStatus, Project
from .tokens import url_safe

FEED_TOKEN_BYTES = 32
FEED_TOKEN_PREFIX = "rkf_"
#: ``rkf_`` and 43 URL-safe characters; anything much shorter or longer is not a token
TOKEN_MIN, TOKEN_MAX = 20, 128

#: dated events a feed holds at most (its bytes and rendering time grow with them):
#: a project with more gets those scheduled from ``FEED_PAST`` ago on, earliest first
FEED_EVENTS_MAX = 2000
FEED_PAST = timedelta(days=365)

#: RFC 5545 STATUS of a VEVENT for each event status
ICS_STATUS: dict[EventStatus, str] = {
    EventStatus.IDEA: "TENTATIVE",
    EventStatus.PLANNED: "TENTATIVE",
    EventStatus.SCHEDULED: "CONFIRMED",
    EventStatus.PUBLISHED: "CONFIRMED",
    EventStatus.CANCELLED: "CANCELLED",
}


def new_token() -> str:
    return FEED_TOKEN_PREFIX + secrets.token_urlsafe(FEED_TOKEN_BYTES)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def plausible(token: str) -> bool:
    """Cheap shape check before any lookup (the answer is the same 404 either way)."""
    body, prefix = token.removeprefix(FEED_TOKEN_PREFIX), len(FEED_TOKEN_PREFIX)
    return token.startswith(FEED_TOKEN_PREFIX) and url_safe(
        body, TOKEN_MIN - prefix, TOKEN_MAX - prefix
    )


def new_feed(*, team_id: int, project_id: int, now: datetime) -> tuple[str, CalendarFeed]:
    """A fresh token (shown once) and the record that stores its digest."""
    token = new_token()
    return token, CalendarFeed(
        project_id=project_id, team_id=team_id, digest=digest(token), created_at=now
    )


def ics_status(status: EventStatus) -> str:
    return ICS_STATUS[status]


def version(project: Project, events: Sequence[CalendarEvent]) -> tuple[object, ...]:
    """What a project's feed says, as far as its bytes go, without its events' text: the
    project's name and zone, which events in which order, and the last change to any of
    them (each change of an event sets its ``updated_at`` to the clock's now, and a new
    event gets a new id). Equal versions, equal feeds; ids and datetimes only, no text."""
    ids = tuple(event.id for event in events)
    latest = max((event.updated_at for event in events), default=None)
    return project.name, project.time_zone, ids, latest
