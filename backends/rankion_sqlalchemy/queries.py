"""The WHERE and ORDER BY of the list queries, written once for both dialects.

Partial-index conditions render without bound parameters (``deleted_at IS NULL``,
``status IN ('queued', 'running')``) so SQLite can see that a query implies an
index's ``WHERE``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    TextClause,
    case,
    cast,
    column,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import TextualSelect

from rankion_core.models import ImageSort
from rankion_core.ports import EventQuery, ImageQuery
from rankion_core.rules.text import tag_key

from .search import fts5_query, query_words, tsquery
from .tables import ACTIVE_JOB_STATUSES, calendar_events, image_tags, images, jobs

__all__ = [
    "ACTIVE_JOB",
    "LIVE",
    "TRASHED",
    "Condition",
    "Plan",
    "claimable",
    "event_filters",
    "event_order",
    "image_filters",
    "image_order",
    "image_page",
    "tag_keys",
    "tag_matches",
    "text_matches",
]

LIVE = images.c.deleted_at.is_(None)
TRASHED = images.c.deleted_at.is_not(None)
#: A WHERE term: an expression, or literal SQL that a partial index must see verbatim.
Condition = ColumnElement[bool] | TextClause

# ``text``, not a Boolean column: SQLite would get ``(…) = 1``, which no index matches.
ACTIVE_JOB = text(f"jobs.{ACTIVE_JOB_STATUSES}")

_c = images.c


#: How SQLite should run a list with match filters (tags, ``q``): ``drive`` from the
#: (small) matching sets and sort them, or ``probe`` them row by row while walking the
#: index in the wanted order. ``default`` leaves it to the planner (PostgreSQL).
Plan = Literal["default", "drive", "probe"]


def image_filters(
    query: ImageQuery, dialect: str, plan: Plan = "default"
) -> list[ColumnElement[bool]]:
    # ``+team_id`` (SQLite's "do not use an index for this term") leaves the rowid
    # lookups of the matching sets as the only way in: SQLite without statistics
    # believes ``team_id = ?`` matches ten rows and would otherwise walk the team.
    team = literal_column("+images.team_id", Integer) if plan == "drive" else _c.team_id
    where: list[ColumnElement[bool]] = [team == query.team_id, LIVE]
    if query.model is not None:
        where.append(_c.model == query.model)
    if query.created_from is not None:
        where.append(_c.created_at >= query.created_from)
    if query.created_to is not None:
        where.append(_c.created_at <= query.created_to)
    if query.favorite is not None:
        where.append(_c.is_favorite == query.favorite)
    if query.project_id is not None:
        where.append(_c.project_id == query.project_id)
    if query.statuses:
        where.append(_c.processing_status.in_(query.statuses))
    where.extend(_tag_filter(query.team_id, tag, plan) for tag in tag_keys(query))
    words = query_words(query.q)
    if words:
        where.append(_text_filter(words, dialect, plan))
    return where


def tag_keys(query: ImageQuery) -> list[str]:
    return list(dict.fromkeys(tag_key(tag) for tag in query.tags))


def tag_matches(team_id: int, key: str) -> Select[int]:
    t = image_tags.c
    return select(t.image_id).where(t.team_id == team_id, t.tag_lower == key)


def _tag_filter(team_id: int, key: str, plan: Plan) -> ColumnElement[bool]:
    """Has the tag (``tag_key``: case-insensitively), through the tag index."""
    if plan == "probe":  # one primary-key lookup per row walked
        t = image_tags.c
        return select(t.image_id).where(t.image_id == _c.id, t.tag_lower == key).exists()
    return _c.id.in_(tag_matches(team_id, key))


def text_matches(words: list[str], limit: int | None = None) -> TextualSelect:
    """SQLite: the rowids FTS5 matches (of every team), at most ``limit`` of them."""
    sql = "SELECT rowid FROM images_fts WHERE images_fts MATCH :search_query"
    matching = text(sql if limit is None else f"{sql} LIMIT {int(limit)}")
    return matching.bindparams(search_query=fts5_query(words)).columns(column("rowid", Integer))


def _text_filter(words: list[str], dialect: str, plan: Plan) -> ColumnElement[bool]:
    if dialect == "postgresql":
        # The same expression as ``ix_images_search``, so the GIN index answers it.
        vector: ColumnElement[Any] = literal_column(
            "array_to_tsvector(string_to_array(images.search_text, ' '))"
        )
        return vector.op("@@", return_type=Boolean)(cast(tsquery(words), TSQUERY))
    # ``+id``: test membership in the (materialised) matches instead of driving from them
    row_id = literal_column("+images.id", Integer) if plan == "probe" else _c.id
    return row_id.in_(text_matches(words))


def image_order(sort: ImageSort, dialect: str, c: Any = _c) -> list[Any]:
    """The ORDER BY of ``sort`` over the columns ``c`` (the table's, or a CTE's)."""
    if sort is ImageSort.OLDEST:
        return [c.created_at.asc(), c.id.asc()]
    if sort is ImageSort.EDITED:
        # SQLite already sorts NULLs last on DESC (and its index can only do that).
        edited = c.edited_at.desc()
        return [edited.nulls_last() if dialect == "postgresql" else edited, c.id.desc()]
    return [c.created_at.desc(), c.id.desc()]


def image_page(
    query: ImageQuery, dialect: str, where: Sequence[Condition], columns: Sequence[Any]
) -> Select[Any]:
    """One page of ``columns`` of the images matching ``where``, in ``query``'s order.

    With ``q`` on PostgreSQL the matches are gathered first (a MATERIALIZED CTE: the
    GIN index, O(matches)) and only they are sorted. Otherwise the planner, which
    cannot estimate how rare a prefix word is, may walk the whole team in date order
    testing every row for a word that is on ten of them (measured: 0.7 s at 100k).
    """
    order = image_order(query.sort, dialect)
    offset = (query.page - 1) * query.per_page
    if dialect != "postgresql" or not query_words(query.q):
        return select(*columns).where(*where).order_by(*order).limit(query.per_page).offset(offset)
    hits = (
        select(_c.id, _c.created_at, _c.edited_at)
        .where(*where)
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )
    page = (
        select(hits.c.id)
        .order_by(*image_order(query.sort, dialect, hits.c))
        .limit(query.per_page)
        .offset(offset)
        .subquery("page")
    )
    return select(*columns).join(page, page.c.id == _c.id).order_by(*order)


def event_filters(query: EventQuery) -> list[ColumnElement[bool]]:
    e = calendar_events.c
    where: list[ColumnElement[bool]] = [
        e.team_id == query.team_id,
        e.project_id == query.project_id,
    ]
    if query.scheduled_from is not None:
        where.append(e.scheduled_at >= query.scheduled_from)
    if query.scheduled_to is not None:
        where.append(e.scheduled_at <= query.scheduled_to)
    if query.statuses:
        where.append(e.status.in_(query.statuses))
    if query.types:
        where.append(e.type.in_(query.types))
    if query.unscheduled:
        where.append(e.scheduled_at.is_(None))
    return where


def event_order(query: EventQuery) -> list[Any]:
    """``scheduled_at`` (NULLs last), then ``id``; unscheduled ones by ``created_at``
    first (as the in-memory backend). A date bound excludes NULLs, so the order is
    then exactly the index's."""
    e = calendar_events.c
    if query.scheduled_from is not None or query.scheduled_to is not None:
        return [e.scheduled_at.asc(), e.id.asc()]
    unscheduled = case((e.scheduled_at.is_(None), e.created_at))
    return [e.scheduled_at.asc().nulls_last(), unscheduled, e.id.asc()]


def claimable(now: Any) -> list[Condition]:
    """Queued and due, or running with an expired (or no) lease; the claim index's
    WHERE comes first."""
    c = jobs.c
    due = (c.status == "queued") & (c.run_after.is_(None) | (c.run_after <= now))
    expired = (c.status == "running") & (c.lease_expires_at.is_(None) | (c.lease_expires_at < now))
    return [ACTIVE_JOB, due | expired]
