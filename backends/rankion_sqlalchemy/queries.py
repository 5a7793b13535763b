"""The WHERE and ORDER BY of the list queries, written once for both dialects.

Each gallery filter is one entry of ``FILTERS`` (the plain ones) or one match form
(``tags``, ``q``, in ``image_filters``), keyed by the core's ``IMAGE_FILTERS`` names;
each order one entry of ``SORTS``. The unit-of-work path binds them to a query's
values; the raw-driver read paths compile them once per query shape
(``compiled_filters``, ``order_sql``) and only bind values per request.

Partial-index conditions render without bound parameters (``deleted_at IS NULL``,
``status IN ('queued', 'running')``) so SQLite can see that a query implies an
index's ``WHERE``.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from types import SimpleNamespace
from typing import Any, Literal

import attrs
from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Integer,
    TextClause,
    and_,
    bindparam,
    case,
    cast,
    column,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import TSQUERY, asyncpg
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Select
from sqlalchemy.sql.selectable import TextualSelect

from rankion_core.models import ImageSort
from rankion_core.ports import ImageQuery
from rankion_core.reads import IMAGE_FILTERS, MATCH_FILTERS, active_filters
from rankion_core.rules.text import tag_key

from .search import fts5_query, query_words, tsquery
from .tables import ACTIVE_JOB_STATUSES, calendar_events, image_tags, images, jobs

__all__ = [
    "ACTIVE_JOB",
    "FILTERS",
    "LIVE",
    "SORTS",
    "TRASHED",
    "WALKABLE_SORTS",
    "CompiledFilters",
    "Condition",
    "Filter",
    "Plan",
    "claimable",
    "compiled_filters",
    "event_order",
    "image_filters",
    "image_order",
    "image_page",
    "order_sql",
    "plain_filters",
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


@attrs.frozen
class Filter:
    """One plain gallery filter: ``op(column, parameter)`` over ``images``, its bound
    parameters named after it (``statuses_0``, ``statuses_1``, … for a set)."""

    name: str
    column: Column[Any]
    op: Callable[[Any, Any], ColumnElement[bool]]
    #: a set of values (``IN``), not one
    many: bool = False

    def values(self, query: ImageQuery) -> list[Any]:
        value = getattr(query, self.name)
        return list(value) if self.many else [value]

    def term(self, values: Sequence[Any]) -> ColumnElement[bool]:
        """The WHERE term for ``values`` (placeholders, when compiled once per shape)."""
        kind = self.column.type
        params = [bindparam(f"{self.name}_{i}", v, type_=kind) for i, v in enumerate(values)]
        return self.op(self.column, params if self.many else params[0])


#: the plain filters by name (the match filters ``tags`` and ``q`` have a form per
#: plan: ``image_filters`` and the raw read paths)
FILTERS: dict[str, Filter] = {
    f.name: f
    for f in (
        Filter("model", _c.model, operator.eq),
        Filter("created_from", _c.created_at, operator.ge),
        Filter("created_to", _c.created_at, operator.le),
        Filter("favorite", _c.is_favorite, operator.eq),
        Filter("project_id", _c.project_id, operator.eq),
        Filter("statuses", _c.processing_status, lambda c, p: c.in_(p), many=True),
    )
}
if set(FILTERS) | set(MATCH_FILTERS) != set(IMAGE_FILTERS):
    raise ImportError("queries.FILTERS and the match filters differ from IMAGE_FILTERS")

#: a query's plain filters without their values: (name, number of values) each
FilterShape = tuple[tuple[str, int], ...]


def plain_filters(query: ImageQuery) -> tuple[FilterShape, dict[str, Any]]:
    """The shape of ``query``'s plain filters and their values by parameter name."""
    shape: list[tuple[str, int]] = []
    values: dict[str, Any] = {}
    for name in active_filters(query):
        found = FILTERS.get(name)
        if found is not None:
            given = found.values(query)
            shape.append((name, len(given)))
            values.update((f"{name}_{i}", v) for i, v in enumerate(given))
    return tuple(shape), values


#: the dialects the raw-driver read paths speak (sqlite3: ``?``; asyncpg: ``$n``)
_RAW_DIALECTS: dict[str, Dialect] = {
    "sqlite": sqlite.dialect(),
    "postgresql": asyncpg.dialect(),  # type: ignore[no-untyped-call]
}
_NUMBERED = re.compile(r"\$(\d+)")


@attrs.frozen
class CompiledFilters:
    """The plain filters of one shape in a raw driver's SQL: ``sql`` (empty: none),
    its parameters' names in order and their bind processors (the column types')."""

    sql: str
    names: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def params(self, values: Mapping[str, Any]) -> list[Any]:
        found = []
        for name, process in zip(self.names, self.processors, strict=True):
            value = values[name]
            found.append(value if process is None or value is None else process(value))
        return found

    def numbered_from(self, offset: int) -> str:
        """``sql`` with its ``$n`` placeholders after ``offset`` others (asyncpg)."""
        return _NUMBERED.sub(lambda m: f"${int(m[1]) + offset}", self.sql)


@lru_cache(maxsize=512)
def compiled_filters(dialect: str, shape: FilterShape) -> CompiledFilters:
    """``shape``'s plain filters, ANDed, compiled once for ``dialect``'s raw driver."""
    if not shape:
        return CompiledFilters("", (), ())
    terms = [FILTERS[name].term([None] * size) for name, size in shape]
    target = _RAW_DIALECTS[dialect]
    # compiled inside a SELECT FROM images, so a term's subquery correlates with it
    outer: Select[Any] = select(literal_column("1")).select_from(images).where(and_(*terms))
    compiled = outer.compile(dialect=target)
    names = tuple(compiled.positiontup or ())
    processors = tuple(
        compiled.binds[name].type.dialect_impl(target).bind_processor(target) for name in names
    )
    where = str(compiled).split("\nWHERE ", 1)[1]  # the outer WHERE comes first
    return CompiledFilters(where, names, processors)


def image_filters(
    query: ImageQuery, dialect: str, plan: Plan = "default"
) -> list[ColumnElement[bool]]:
    # ``+team_id`` (SQLite's "do not use an index for this term") leaves the rowid
    # lookups of the matching sets as the only way in: SQLite without statistics
    # believes ``team_id = ?`` matches ten rows and would otherwise walk the team.
    team = literal_column("+images.team_id", Integer) if plan == "drive" else _c.team_id
    where: list[ColumnElement[bool]] = [team == query.team_id, LIVE]
    shape, values = plain_filters(query)
    for name, size in shape:
        where.append(FILTERS[name].term([values[f"{name}_{i}"] for i in range(size)]))
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


#: the sorts a tag's or a word's rows can be walked in (their indexes hold
#: ``created_at``, not ``edited_at``)
WALKABLE_SORTS = frozenset({ImageSort.NEWEST, ImageSort.OLDEST})

#: each order of a list, over columns ``c`` (``created_at``, ``edited_at``, ``id``:
#: the table's, a CTE's, or a tag's or word's rows, whose ``id`` is ``image_id``)
SORTS: dict[ImageSort, Callable[[Any, str], list[Any]]] = {
    ImageSort.NEWEST: lambda c, dialect: [c.created_at.desc(), c.id.desc()],
    ImageSort.OLDEST: lambda c, dialect: [c.created_at.asc(), c.id.asc()],
    # SQLite already sorts NULLs last on DESC (and its index can only do that).
    ImageSort.EDITED: lambda c, dialect: [
        c.edited_at.desc().nulls_last() if dialect == "postgresql" else c.edited_at.desc(),
        c.id.desc(),
    ],
}


def image_order(sort: ImageSort, dialect: str, c: Any = _c) -> list[Any]:
    """The ORDER BY of ``sort`` over the columns ``c`` (the table's, or a CTE's)."""
    return SORTS[sort](c, dialect)


@lru_cache(maxsize=64)
def order_sql(sort: ImageSort, dialect: str, relation: str, id_column: str = "id") -> str:
    """``SORTS[sort]`` as ORDER BY text over the relation named ``relation`` (``""``:
    unqualified names), whose image id is ``id_column``, compiled once for a raw read
    path."""
    names: Iterable[str] = ("created_at", "edited_at")
    columns: list[Any] = [column(n) for n in (*names, id_column)]
    if relation:  # else the names alone
        columns = list(table(relation, *columns).c)
    c = SimpleNamespace(**dict(zip(names, columns, strict=False)), id=columns[-1])
    target = _RAW_DIALECTS[dialect]
    return ", ".join(str(o.compile(dialect=target)) for o in SORTS[sort](c, dialect))


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


def event_order(bounded: bool) -> list[Any]:
    """``scheduled_at`` (NULLs last), then ``id``; unscheduled ones by ``created_at``
    first (as the in-memory backend). A date bound (``bounded``) excludes NULLs, so
    the order is then exactly the index's."""
    e = calendar_events.c
    if bounded:
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
