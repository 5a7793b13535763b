"""Query strings, parsed strictly: a bad value is ``422``, never ignored.

Each parser has its documented ``Param``s beside it; a route declares them in its
``Op``, which both the OpenAPI document and ``check_known`` read, so on ``/v1`` a
parameter no route declares is ``422`` too (with the close known name suggested).
Work is bounded before it starts: a number is looked at only when it has at most 19
digits, and at most 20 ``tags[]`` are read.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, tzinfo
from enum import Enum
from typing import TypeVar

from multidict import MultiMapping

from rankion_core.errors import Invalid
from rankion_core.models import EventStatus, EventType, ImageSort, ProcessingStatus
from rankion_core.ports import EventQuery, ImageQuery
from rankion_core.rules import limits, text
from rankion_core.rules.search import words
from rankion_core.rules.similar import DEFAULT_DISTANCE, MAX_DISTANCE
from rankion_core.rules.text import NOT_BLANK
from rankion_core.rules.timeutil import day_bounds

from .convert import MORE, FieldError, capped, parse_datetime
from .operations import Param

E = TypeVar("E", bound=Enum)
Query = MultiMapping[str]

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SPACED_OFFSET = re.compile(r"(T[\d:.]+) (\d{2}(?::?\d{2})?)$")
Q_MAX = 500


def _bad(name: str, message: str) -> Invalid:
    return Invalid(f"{name}: {message}", details={name: message})


def _all(query: Query, name: str) -> list[str]:
    """Every value of ``name``; one holding NUL is refused, as in a body."""
    values = query.getall(name, [])
    if any(text.NUL in value for value in values):
        raise _bad(name, text.NUL_REFUSED)
    return values


def _one(query: Query, name: str) -> str | None:
    values = _all(query, name)
    if len(values) > 1:
        raise _bad(name, "given more than once")
    return values[0] if values else None


def _int(query: Query, name: str, default: int, low: int, high: int) -> int:
    raw = _one(query, name)
    if raw is None:
        return default
    if not is_number(raw) or not low <= int(raw) <= high:
        raise _bad(name, f"an integer from {low} to {high}")
    return int(raw)


def similar_query(query: Query) -> tuple[int, int, int]:
    """``(max_distance, page, per_page)`` of ``/v1/images/{id}/similar``."""
    distance = _int(query, "max_distance", DEFAULT_DISTANCE, 0, MAX_DISTANCE)
    return (distance, *paging(query))


def is_number(raw: str) -> bool:
    """ASCII digits, at most 19 of them: safe to hand to ``int()`` (bounded work)."""
    return 0 < len(raw) <= limits.DIGITS_MAX and raw.isascii() and raw.isdigit()


def paging(
    query: Query,
    default: int = limits.PER_PAGE_DEFAULT,
    high: int = limits.PER_PAGE_MAX,
) -> tuple[int, int]:
    """``(page, per_page)``: page ≥ 1, per_page 1..high."""
    page = _int(query, "page", 1, 1, 10**9)
    return page, _int(query, "per_page", default, 1, high)


def bound(raw: str, name: str, end_of_day: bool, zone: tzinfo = UTC) -> datetime:
    """A time with an offset, or a date: the start (or end) of that day in ``zone``."""
    if _DATE.fullmatch(raw):
        try:
            bounds = day_bounds(date.fromisoformat(raw), zone)
        except (ValueError, OverflowError):
            raise _bad(name, "not a calendar date in the supported years") from None
        return bounds[1] if end_of_day else bounds[0]
    # an unencoded "+02:00" arrives as " 02:00": take it back
    raw = _SPACED_OFFSET.sub(r"\1+\2", raw)
    try:
        return parse_datetime(raw)
    except FieldError as exc:
        raise _bad(name, f"{exc} (or a date YYYY-MM-DD)") from None


def _when(query: Query, name: str, end_of_day: bool, zone: tzinfo = UTC) -> datetime | None:
    raw = _one(query, name)
    return None if raw is None else bound(raw, name, end_of_day, zone)


def time_range(query: Query, zone: tzinfo = UTC) -> tuple[datetime | None, datetime | None]:
    """``from``/``to``; a bare date is a whole day in ``zone``."""
    start, end = _when(query, "from", False, zone), _when(query, "to", True, zone)
    if start is not None and end is not None and start > end:
        raise _bad("from", "must not be after to")
    return start, end


def day_range(query: Query, zone: tzinfo) -> tuple[datetime, datetime]:
    """``from`` and ``to`` of ``…/calendar/days``: both required."""
    start, end = time_range(query, zone)
    if start is None or end is None:
        missing = "from" if start is None else "to"
        raise _bad(missing, "required: a date YYYY-MM-DD or a date-time with an offset")
    return start, end


def _enums(query: Query, name: str, cls: type[E]) -> tuple[E, ...]:
    allowed = {str(m.value): m for m in cls}
    out: list[E] = []
    for raw in _all(query, name):
        for item in raw.split(","):
            if item.strip() not in allowed:
                raise _bad(name, f"comma-separated values of {', '.join(allowed)}")
            out.append(allowed[item.strip()])
    return tuple(dict.fromkeys(out))


def _enum(query: Query, name: str, cls: type[E], default: E) -> E:
    raw = _one(query, name)
    allowed = {str(m.value): m for m in cls}
    if raw is None:
        return default
    if raw not in allowed:
        raise _bad(name, f"one of {', '.join(allowed)}")
    return allowed[raw]


def _bool(query: Query, name: str) -> bool | None:
    raw = _one(query, name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise _bad(name, "true or false")
    return raw == "true"


def _text(query: Query, name: str) -> str | None:
    raw = _one(query, name)
    if raw is not None and len(raw) > Q_MAX:
        raise _bad(name, f"at most {Q_MAX} characters")
    if raw is None:
        return None
    return raw.strip() or None


def _q(query: Query) -> str | None:
    q = _text(query, "q")
    if q is not None and len(set(words(q))) > limits.Q_WORDS_MAX:
        raise _bad("q", f"at most {limits.Q_WORDS_MAX} different words")
    return q


def _tags(query: Query) -> tuple[str, ...]:
    tags = _all(query, "tags[]")
    if len(tags) > limits.TAGS_MAX:
        raise _bad("tags[]", f"at most {limits.TAGS_MAX} tags")
    if any(not t.strip() or len(t) > limits.TAG_MAX for t in tags):
        raise _bad("tags[]", f"tags of 1..{limits.TAG_MAX} characters")
    return tuple(dict.fromkeys(t.strip() for t in tags))


def _id(query: Query, name: str) -> int | None:
    if name not in query:
        return None
    return _int(query, name, 0, 1, limits.ID_MAX)


def _suggestion(name: str, known: Sequence[str]) -> str:
    """``unknown parameter`` plus the closest known name, compared without ``[]``."""
    bases = {k.removesuffix("[]"): k for k in known}
    close = difflib.get_close_matches(name.removesuffix("[]"), list(bases), n=1, cutoff=0.6)
    return f"unknown parameter; did you mean {bases[close[0]]}?" if close else "unknown parameter"


def check_known(query: Query, params: Iterable[Param]) -> None:
    """``422`` naming each query parameter that is not one of ``params``."""
    known = [p.name for p in params if p.where == "query"]
    unknown = [name for name in dict.fromkeys(query) if name not in known]
    if not unknown:
        return
    shown = unknown[: limits.DETAILS_MAX]
    details = capped(((n, _suggestion(n, known)) for n in shown), len(unknown))
    listed = ", ".join(shown) + (f", {MORE}" if len(unknown) > len(shown) else "")
    raise Invalid(f"unknown query parameters: {listed}", details=details)


def image_query(query: Query, team_id: int, project_id: int | None = None) -> ImageQuery:
    page, per_page = paging(query)
    start, end = time_range(query)
    return ImageQuery(
        team_id=team_id,
        q=_q(query),
        model=_text(query, "model"),
        created_from=start,
        created_to=end,
        favorite=_bool(query, "favorite"),
        tags=_tags(query),
        project_id=project_id if project_id is not None else _id(query, "project_id"),
        statuses=_enums(query, "status", ProcessingStatus),
        sort=_enum(query, "sort", ImageSort, ImageSort.NEWEST),
        page=page,
        per_page=per_page,
    )


def event_query(query: Query, team_id: int, project_id: int, zone: tzinfo = UTC) -> EventQuery:
    page, per_page = paging(query, limits.CALENDAR_PER_PAGE_DEFAULT, limits.CALENDAR_PER_PAGE_MAX)
    start, end = time_range(query, zone)
    return EventQuery(
        team_id=team_id,
        project_id=project_id,
        scheduled_from=start,
        scheduled_to=end,
        statuses=_enums(query, "status", EventStatus),
        types=_enums(query, "type", EventType),
        unscheduled=bool(_bool(query, "unscheduled")),
        page=page,
        per_page=per_page,
    )


# --------------------------------------------------------------------------- documentation


def _paging_params(default: int, high: int) -> tuple[Param, ...]:
    return (
        Param("page", {"type": "integer", "minimum": 1, "maximum": 10**9, "default": 1}),
        Param("per_page", {"type": "integer", "minimum": 1, "maximum": high, "default": default}),
    )


def _csv(values: Sequence[str]) -> dict[str, object]:
    return {"type": "string", "pattern": f"^({'|'.join(values)})(,({'|'.join(values)}))*$"}


_WHEN = {
    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}],
    "description": "ISO 8601 date-time with an offset, or a date",
}

PAGING = _paging_params(limits.PER_PAGE_DEFAULT, limits.PER_PAGE_MAX)
RANGE = (
    Param("from", _WHEN, "inclusive; a date means from the start of that UTC day; after to: 422"),
    Param("to", _WHEN, "inclusive; a date means to the end of that UTC day"),
)
IMAGE_FILTERS = (
    Param(
        "q",
        {"type": "string", "maxLength": Q_MAX},
        f"each word (letters, digits, _) begins a word of the title, prompt or tags (at most"
        f" {limits.Q_WORDS_MAX} different); a q of symbols only, with no word, matches nothing",
    ),
    Param("model", {"type": "string"}),
    *RANGE,
    Param("favorite", {"type": "boolean"}),
    Param(
        "tags[]",
        {
            "type": "array",
            "maxItems": limits.TAGS_MAX,
            "items": {"type": "string", "maxLength": limits.TAG_MAX, "pattern": NOT_BLANK},
        },
        "has all of these tags",
    ),
    Param("status", _csv([s.value for s in ProcessingStatus]), "processing statuses"),
    Param("sort", {"type": "string", "enum": [s.value for s in ImageSort], "default": "newest"}),
    *PAGING,
)
SIMILAR = (
    Param(
        "max_distance",
        {"type": "integer", "minimum": 0, "maximum": MAX_DISTANCE, "default": DEFAULT_DISTANCE},
        "at most this many of the 64 hash bits differ",
    ),
    *PAGING,
)
IMAGE_LIST = (
    Param("project_id", {"type": "integer", "minimum": 1, "maximum": limits.ID_MAX}),
    *IMAGE_FILTERS,
)
LOCAL_RANGE = (
    Param(
        "from",
        _WHEN,
        "inclusive; a date means from the start of that day in the project's zone; after "
        "to (compared as instants): 422",
    ),
    Param("to", _WHEN, "inclusive; a date means to the end of that day in the project's zone"),
)
CALENDAR_LIST = (
    *LOCAL_RANGE,
    Param("status", _csv([s.value for s in EventStatus])),
    Param("type", _csv([t.value for t in EventType])),
    Param("unscheduled", {"type": "boolean"}, "true: only events without scheduled_at"),
    *_paging_params(limits.CALENDAR_PER_PAGE_DEFAULT, limits.CALENDAR_PER_PAGE_MAX),
)
CALENDAR_DAYS = tuple(
    Param(p.name, p.schema, f"required; {p.description}", required=True) for p in LOCAL_RANGE
)
