"""The gallery's reads on PostgreSQL with asyncpg directly.

Through ``AsyncSession`` a gallery page cost ~10 times what the raw driver needs: a
pool checkout with a pre-ping (three round trips), statement building and cache keys,
greenlet hops, per-column result processing, the ORM's entities, and one round trip
per statement (page, total, shares). ``PgReads`` answers the gallery's ``Reads`` instead:

* **one statement per answer**. The page, its total and its active shares (a list),
  or the image, its tree and their shares (a detail), come back as the rows of one
  ``SELECT``: one round trip, and one snapshot (a statement sees a single snapshot
  under any isolation level), so page, total and shares always agree — with no
  ``BEGIN``/``COMMIT`` round trips around it;
* the statement is written once per query shape (``ListShape``: which filters are
  set, not their values) and cached (``statement``): the plain filters and the
  orders compiled from ``queries.FILTERS`` and ``queries.SORTS``, the match
  conditions (the GIN expression for ``q``) and, for ``q``, the same
  MATERIALIZED-CTE shape as ``queries.image_page`` (see there for why), with ``$n``
  parameters; asyncpg's per-connection statement cache prepares each shape once;
  the connections keep the engine's ``plan_cache_mode=force_custom_plan``, so each
  execution is still planned for its own values;
* rows become entities through the backend's one builder (``rows.EntityRows``, for
  asyncpg's values): asyncpg already returns aware UTC datetimes, bools and ints;
  ``tags`` is selected as text and parsed (orjson), statuses become enums;
* the connections come from a small asyncpg pool of its own, opened on first use.
  Each of its connections is made by the storage's engine and detached from the
  engine's pool (``PoolProxiedConnection.detach``), so it has exactly the engine's
  connect arguments and server settings (``search_path``, ``plan_cache_mode``, TLS …)
  without this module knowing them. The pool has the engine pool's size; it skips
  the pre-ping and the per-release ``RESET`` (nothing here changes session state: the
  connections are read-only, ``default_transaction_read_only``). A connection found
  dead (a database restart) is replaced and the answer, being read-only, retried
  once; other outages raise ``Unavailable``.

Answers equal the unit-of-work path's (the read contract,
``rankion_core/testing/storage/reads.py``), except that a filtered total may stop
at the caller's ``count_limit`` (``total_exact=False``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import attrs
from sqlalchemy import JSON, Column
from sqlalchemy.ext.asyncio import AsyncEngine

from rankion_core.errors import Unavailable
from rankion_core.models import Image, ImageSort, Share
from rankion_core.ports import ImageFamily, ImageListing, ImageQuery, Storage
from rankion_core.reads import UnitOfWorkReads

from .queries import (
    WALKABLE_SORTS,
    CompiledFilters,
    FilterShape,
    compiled_filters,
    order_sql,
    plain_filters,
    tag_keys,
)
from .rows import EntityRows
from .search import TOP, WORD_BRANCHES, query_words, tsquery
from .totals import unfiltered
from .uow import UNAVAILABLE_ERRORS

if TYPE_CHECKING:
    import asyncpg

__all__ = ["ListShape", "ListSql", "PgReads", "family_sql", "statement"]

#: connections of the pool when the engine's pool has no size (e.g. ``NullPool``)
DEFAULT_POOL_SIZE = 5


def _select_item(column: Column[Any]) -> str:
    """``images.tags::text AS tags``: JSON as its text, whatever codec the connection has."""
    name = f"{column.table.name}.{column.name}"
    return f"{name}::text AS {column.name}" if isinstance(column.type, JSON) else name


def select_list(rows: EntityRows[Any], table: str | None = None) -> str:
    """The columns of ``rows`` in order: of their table, or of the relation ``table``."""
    if table is None:
        return ", ".join(_select_item(c) for c in rows.columns)
    return ", ".join(f"{table}.{c.name}" for c in rows.columns)


def _utc(value: datetime) -> datetime:
    """As ``UTCDateTime`` binds a time: aware, in UTC; a naive one is a caller's bug."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: storage needs timezone-aware times")
    return value.astimezone(UTC)


def _order(sort: ImageSort, relation: str, id_column: str = "id") -> str:
    return order_sql(sort, "postgresql", relation, id_column)


#: a listed image's columns start after the total; its share's after the image's
LIST_IMAGE = EntityRows.of(Image, "postgresql", start=1)
LIST_SHARE = EntityRows.of(Share, "postgresql", start=1 + len(LIST_IMAGE.columns))
#: a tree row: the image's columns, then its share's
TREE_IMAGE = EntityRows.of(Image, "postgresql")
TREE_SHARE = EntityRows.of(Share, "postgresql", start=len(TREE_IMAGE.columns))


def _active_share(of: str, team: str, now: str) -> str:
    """The newest active share of the image ``of`` (as ``ShareRepo``: of the team,
    not revoked, not expired; the highest id wins), through ``ix_shares_image_id``."""
    return (
        f"LEFT JOIN LATERAL (SELECT {select_list(LIST_SHARE)} FROM shares"
        f" WHERE shares.image_id = {of} AND shares.team_id = {team}"
        " AND shares.revoked_at IS NULL"
        f" AND (shares.expires_at IS NULL OR shares.expires_at > {now})"
        " ORDER BY shares.id DESC LIMIT 1) AS share ON true"
    )


@attrs.frozen
class ListShape:
    """What the statement of a list depends on: which filters are set, not their
    values. One statement is written per shape (``statement``) and cached, so asyncpg's
    per-connection statement cache prepares each shape once."""

    filters: FilterShape
    tags: int
    #: how many ``q`` words (2 standing for "more than one")
    words: int
    sort: ImageSort
    later_page: bool
    #: unfiltered: the total is the trigger-kept count (``totals``)
    kept: bool

    # -- the plan's rules, by name

    @property
    def walks_tag(self) -> bool:
        """One tag, newest or oldest first, no ``q``: walk the tag's rows in date order
        (``ix_image_tags_newest``, migration 0005) instead of every match of it."""
        return self.tags == 1 and not self.words and self.sort in WALKABLE_SORTS

    @property
    def walks_word(self) -> bool:
        """One word, no tag, newest or oldest first: walk the rows of each stored word
        it is a prefix of in date order (``ix_image_words_newest``, migration 0006)
        when there are at most ``WORD_BRANCHES`` of them, else the GIN matches."""
        return self.words == 1 and not self.tags and self.sort in WALKABLE_SORTS

    @property
    def plain_filtered(self) -> bool:
        """Whether a plain filter (not a match filter) is set: else a walked tag's or
        word's own rows (which hold the team and liveness) answer alone."""
        return bool(self.filters)


class _Slots:
    """A statement's parameters by name, numbered ``$n`` in order of first use."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def __call__(self, name: str) -> str:
        if name not in self.names:
            self.names.append(name)
        return f"${self.names.index(name) + 1}"

    def filters(self, compiled: CompiledFilters) -> str:
        """``compiled``'s SQL, its parameters numbered after those named so far."""
        offset = len(self.names)
        self.names.extend(compiled.names)
        return compiled.numbered_from(offset)


@attrs.frozen
class _Part:
    """The CTEs that give a list's ``page`` (and what it needs), and the SELECT of
    its matching rows (counted for the total)."""

    ctes: list[str]
    matching: str


class _Statement:
    """The statement of one ``ListShape``, written in small named parts.

    Its rows: ``total, <image columns>, <share columns>`` per listed image, in the
    list's order; when the page is empty, one row with the total and NULLs.
    """

    def __init__(self, shape: ListShape) -> None:
        self.shape = shape
        self.p = _Slots()
        self.p("team")  # $1
        filters = self.p.filters(compiled_filters("postgresql", shape.filters))
        #: the plain filters (team and liveness included)
        self.plain = " AND ".join(
            ["images.team_id = $1", "images.deleted_at IS NULL", *([filters] if filters else [])]
        )
        self.columns = select_list(LIST_IMAGE)
        self.limit, self.offset = self.p("limit"), self.p("offset")
        self.sql = self._outer(self._part())

    def _tag_terms(self) -> list[str]:
        if self.shape.walks_tag:
            return []
        return [
            "images.id IN (SELECT image_tags.image_id FROM image_tags"
            f" WHERE image_tags.team_id = $1 AND image_tags.tag_lower = {self.p(f'tag{i}')})"
            for i in range(self.shape.tags)
        ]

    def _word_term(self) -> list[str]:
        if not self.shape.words:
            return []
        # the expression of ``ix_images_search``, so the GIN index answers it
        return [
            "array_to_tsvector(string_to_array(images.search_text, ' '))"
            f" @@ CAST({self.p('tsquery')}::text AS tsquery)"
        ]

    def _conditions(self) -> str:
        return " AND ".join([self.plain, *self._tag_terms(), *self._word_term()])

    def _part(self) -> _Part:
        if self.shape.walks_word:
            return self._walked_word()
        if self.shape.words:
            return self._gin_hits()
        if self.shape.walks_tag:
            return self._walked_tag()
        if self.shape.later_page:
            return self._ids_first()
        return self._first_page()

    def _hits(self) -> str:
        return (
            "hits AS MATERIALIZED (SELECT images.id, images.created_at, images.edited_at"
            f" FROM images WHERE {self._conditions()})"
        )

    def _hits_page(self) -> str:
        return (
            f"SELECT {self.columns} FROM images JOIN (SELECT hits.id FROM hits"
            f" ORDER BY {_order(self.shape.sort, 'hits')} LIMIT {self.limit}"
            f" OFFSET {self.offset}) AS ids ON ids.id = images.id"
        )

    def _gin_hits(self) -> _Part:
        """The matches first (GIN, O(matches)), then only they are sorted: see
        ``queries.image_page``."""
        return _Part([self._hits(), f"page AS ({self._hits_page()})"], "SELECT 1 FROM hits")

    def _walked_word(self) -> _Part:
        """Each stored word's rows in date order when there are few stored words
        (``branches``), else the GIN hits; both written, one chosen by the database."""
        order = _order(self.shape.sort, "w", "image_id")
        if self.shape.plain_filtered:
            rows = (
                "FROM image_words AS w JOIN images ON images.id = w.image_id"
                f" WHERE w.team_id = $1 AND w.word = stored.word AND w.live AND {self.plain}"
            )
        else:  # the word's row has the team and liveness: no join
            rows = "FROM image_words AS w WHERE w.team_id = $1 AND w.word = stored.word AND w.live"
        walk = "(SELECT walk FROM branches)"
        page = (
            f"page AS ((SELECT {self.columns} FROM images JOIN (SELECT DISTINCT"
            " x.created_at, x.image_id FROM stored CROSS JOIN LATERAL"
            f" (SELECT w.created_at, w.image_id {rows}"
            f" ORDER BY {order} LIMIT {self.p('need')}) AS x"
            f" ORDER BY {_order(self.shape.sort, 'x', 'image_id')}"
            f" LIMIT {self.limit} OFFSET {self.offset})"
            f" AS ids ON ids.image_id = images.id WHERE {walk})"
            f" UNION ALL ({self._hits_page()} WHERE NOT {walk}))"
        )
        matching = (
            "SELECT 1 FROM (SELECT DISTINCT x.image_id FROM stored CROSS JOIN LATERAL"
            f" (SELECT w.image_id {rows} LIMIT {self.p('capped')}) AS x) AS d"
            f" WHERE {walk} UNION ALL SELECT 1 FROM hits WHERE NOT {walk}"
        )
        return _Part([*self._word_ctes(), self._hits(), page], matching)

    def _word_ctes(self) -> list[str]:
        """``stored``: the team's stored words that the word is a prefix of (one index
        seek each, at most ``WORD_BRANCHES + 1``); ``branches``: whether to walk them
        (``walk``: at most ``WORD_BRANCHES``)."""
        low, high = self.p("word_low"), self.p("word_high")
        return [
            "stored AS MATERIALIZED (WITH RECURSIVE s(word) AS ("
            " SELECT (SELECT min(word) FROM image_words"
            f"  WHERE team_id = $1 AND word >= {low} AND word < {high})"
            " UNION ALL SELECT (SELECT min(word) FROM image_words"
            f"  WHERE team_id = $1 AND word > s.word AND word < {high})"
            " FROM s WHERE s.word IS NOT NULL)"
            f" SELECT word FROM s WHERE word IS NOT NULL LIMIT {WORD_BRANCHES + 1})",
            f"branches AS (SELECT count(*) <= {WORD_BRANCHES} AS walk FROM stored)",
        ]

    def _walked_tag(self) -> _Part:
        tag = self.p("tag0")
        tagged = (
            "FROM image_tags AS t JOIN images ON images.id = t.image_id"
            f" WHERE t.team_id = $1 AND t.tag_lower = {tag} AND t.live AND {self._conditions()}"
        )
        page = (
            f"page AS (SELECT {self.columns} {tagged}"
            f" ORDER BY {_order(self.shape.sort, 't', 'image_id')}"
            f" LIMIT {self.limit} OFFSET {self.offset})"
        )
        if self.shape.plain_filtered:
            return _Part([page], f"SELECT 1 {tagged}")
        # the tag is the only filter: its index range alone
        return _Part(
            [page], f"SELECT 1 FROM image_tags WHERE team_id = $1 AND tag_lower = {tag} AND live"
        )

    def _ids_first(self) -> _Part:
        """A later page: the ids first (an index-only scan skips the offset), then
        their rows."""
        conditions = self._conditions()
        page = (
            f"page AS (SELECT {self.columns} FROM images JOIN (SELECT images.id FROM images"
            f" WHERE {conditions} ORDER BY {_order(self.shape.sort, 'images')}"
            f" LIMIT {self.limit} OFFSET {self.offset}) AS ids ON ids.id = images.id)"
        )
        return _Part([page], f"SELECT 1 FROM images WHERE {conditions}")

    def _first_page(self) -> _Part:
        conditions = self._conditions()
        page = (
            f"page AS (SELECT {self.columns} FROM images WHERE {conditions}"
            f" ORDER BY {_order(self.shape.sort, 'images')}"
            f" LIMIT {self.limit} OFFSET {self.offset})"
        )
        return _Part([page], f"SELECT 1 FROM images WHERE {conditions}")

    def _total(self, matching: str) -> str:
        if self.shape.kept:  # the trigger-kept count (``totals``), exact whatever its size
            return "COALESCE((SELECT live FROM image_counts WHERE image_counts.team_id = $1), 0)"
        # counted up to count_limit + 1: over the limit, the limit is a lower bound
        return f"(SELECT count(*) FROM ({matching} LIMIT {self.p('capped')}) AS matching)"

    def _outer(self, part: _Part) -> str:
        return (
            f"WITH {', '.join(part.ctes)}"
            f" SELECT total.n, {select_list(LIST_IMAGE, 'page')},"
            f" {select_list(LIST_SHARE, 'share')}"
            f" FROM (SELECT {self._total(part.matching)} AS n) AS total LEFT JOIN page ON true"
            f" {_active_share('page.id', '$1', self.p('now'))}"
            f" ORDER BY {_order(self.shape.sort, 'page')}"
        )


@lru_cache(maxsize=512)
def statement(shape: ListShape) -> tuple[str, tuple[str, ...]]:
    """The SQL of ``shape`` and its parameters' names, in ``$n`` order."""
    written = _Statement(shape)
    return written.sql, tuple(written.p.names)


class ListSql:
    """The one statement of a gallery list (``statement`` of its shape) and its
    parameters for one ``ImageQuery``."""

    def __init__(self, query: ImageQuery, now: datetime, count_limit: int) -> None:
        tags, words = tag_keys(query), query_words(query.q)
        filters, filter_values = plain_filters(query)
        self.shape = ListShape(
            filters=filters,
            tags=len(tags),
            words=min(len(words), 2),
            sort=query.sort,
            later_page=query.page > 1,
            kept=unfiltered(query),
        )
        self.sql, names = statement(self.shape)
        compiled = compiled_filters("postgresql", filters)
        values: dict[str, Any] = {
            "team": query.team_id,
            **dict(zip(compiled.names, compiled.params(filter_values), strict=True)),
            **{f"tag{i}": tag for i, tag in enumerate(tags)},
            "limit": query.per_page,
            "offset": (query.page - 1) * query.per_page,
            "need": query.page * query.per_page,
            "capped": count_limit + 1,
            "now": _utc(now),
        }
        if words:
            values.update(tsquery=tsquery(words), word_low=words[0], word_high=words[0] + TOP)
        self.params = [values[name] for name in names]
        self.count_limit = count_limit

    def listing(self, records: Sequence[Any]) -> ImageListing:
        counted = int(records[0][0]) if records else 0
        listed = [r for r in records if r[1] is not None]  # the empty page's row: a total
        images = LIST_IMAGE.many(listed)
        shared = [r for r in listed if r[LIST_SHARE.start] is not None]
        found = {share.image_id: share for share in LIST_SHARE.many(shared)}
        exact = self.shape.kept or counted <= self.count_limit
        total = counted if exact else self.count_limit
        return ImageListing(images=images, total=total, total_exact=exact, shares=found)


def family_sql() -> str:
    """The one statement of a detail: the image's variant tree (its root, then every
    row with that ``root_id``: two index lookups, as ``ImageRepo.tree``), each row
    with its active share, by id. $1 team, $2 image, $3 now; no row: no such image."""
    columns = select_list(TREE_IMAGE)
    return (
        "WITH target AS (SELECT COALESCE(images.root_id, images.id) AS root FROM images"
        " WHERE images.team_id = $1 AND images.id = $2),"
        f" tree AS (SELECT {columns} FROM images"
        " WHERE images.team_id = $1 AND images.id = (SELECT root FROM target)"
        f" UNION ALL SELECT {columns} FROM images WHERE images.team_id = $1"
        " AND images.root_id = (SELECT root FROM target)"
        " AND images.id <> (SELECT root FROM target))"
        f" SELECT {select_list(TREE_IMAGE, 'tree')}, {select_list(TREE_SHARE, 'share')}"
        f" FROM tree {_active_share('tree.id', '$1', '$3')} ORDER BY tree.id"
    )


FAMILY_SQL = family_sql()


async def _keep_session(connection: Any) -> None:
    """The pool's reset: nothing (the reads change no session state), instead of a
    ``RESET ALL`` round trip per answer."""


async def _read_only(connection: Any) -> None:
    await connection.execute("SET SESSION default_transaction_read_only = on")


class PgReads(UnitOfWorkReads):
    """``Reads`` on PostgreSQL: the gallery's over the connections of ``engine``
    (``close()`` closes that pool; the engine's own is not touched), the rest through
    ``storage``'s units of work (asyncpg awaits the database: nothing of theirs runs
    on the event loop, and PostgreSQL's readers never wait for its writers)."""

    def __init__(
        self, engine: AsyncEngine, pool_size: int | None = None, *, storage: Storage
    ) -> None:
        super().__init__(storage)
        import asyncpg  # the ``postgres`` extra; present whenever such an engine exists

        self._asyncpg = asyncpg
        self.engine = engine
        size = getattr(engine.pool, "size", None)
        self.pool_size = pool_size or (size() if callable(size) else DEFAULT_POOL_SIZE)
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()
        errors = asyncpg.exceptions
        #: the connection is gone: replace it and read again (reads are idempotent)
        self._lost: tuple[type[BaseException], ...] = (
            asyncpg.InterfaceError,  # closed, or closed under us
            errors.PostgresConnectionError,  # class 08
            errors.AdminShutdownError,
            errors.CrashShutdownError,
            # the server's "terminating connection" arrived before the socket closed
            # (seen after pg_terminate_backend): the protocol refuses the next query
            errors.InternalClientError,
            ConnectionError,
        )
        #: the database cannot answer now (the server answers 503)
        self._unavailable: tuple[type[BaseException], ...] = (
            *UNAVAILABLE_ERRORS,
            errors.OperatorInterventionError,  # class 57: shutdown, cannot connect now, canceled
            errors.InsufficientResourcesError,  # class 53: too many connections, disk full
        )

    async def _connect(self, *_args: Any, **_kwargs: Any) -> asyncpg.Connection:
        """A new connection for the pool: made by the engine, then detached from it."""
        proxied = await self.engine.raw_connection()
        connection = proxied.driver_connection
        proxied.detach()  # from now on ours: the engine's pool forgets it
        return connection

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await self._asyncpg.create_pool(
                    min_size=0,
                    max_size=self.pool_size,
                    connect=self._connect,
                    init=_read_only,
                    reset=_keep_session,
                )
            return self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def _fetch(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """The rows of ``sql``; a lost connection is replaced and the read retried once."""
        for retry in (False, True):
            try:
                pool = self._pool or await self._open()
                async with pool.acquire() as connection:
                    rows: list[Any] = await connection.fetch(sql, *params)
                    return rows
            except self._lost as exc:
                if retry:
                    raise Unavailable("storage is unavailable") from exc
                if self._pool is not None:
                    await self._pool.expire_connections()  # a restart took the others too
            except self._unavailable as exc:
                raise Unavailable("storage is unavailable") from exc
        raise AssertionError("unreachable")

    # -- the gallery's reads

    async def image_listing(
        self, query: ImageQuery, now: datetime, count_limit: int
    ) -> ImageListing:
        sql = ListSql(query, now, count_limit)
        return sql.listing(await self._fetch(sql.sql, sql.params))

    async def image_family(self, team_id: int, image_id: int, now: datetime) -> ImageFamily | None:
        records = await self._fetch(FAMILY_SQL, [team_id, image_id, _utc(now)])
        tree: list[Image] = []
        found: dict[int, Share] = {}
        image: Image | None = None
        for record in records:
            member = TREE_IMAGE.one(record)
            tree.append(member)
            if member.id == image_id:
                image = member
            if record[TREE_SHARE.start] is not None:
                found[member.id] = TREE_SHARE.one(record)
        if image is None:
            return None
        return ImageFamily(image=image, tree=tree, shares=found)
