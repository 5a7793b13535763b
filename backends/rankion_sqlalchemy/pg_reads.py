"""The gallery's reads on PostgreSQL with asyncpg directly.

Through ``AsyncSession`` a gallery page cost ~10 times what the raw driver needs: a
pool checkout with a pre-ping (three round trips), statement building and cache keys,
greenlet hops, per-column result processing, the ORM's entities, and one round trip
per statement (page, total, shares). ``PgReads`` answers ``GalleryReads`` instead:

* **one statement per answer**. The page, its total and its active shares (a list),
  or the image, its tree and their shares (a detail), come back as the rows of one
  ``SELECT``: one round trip, and one snapshot (a statement sees a single snapshot
  under any isolation level), so page, total and shares always agree — with no
  ``BEGIN``/``COMMIT`` round trips around it;
* the SQL is text written here (``ListSql``), with ``$n`` parameters, the same
  filters, orders, match conditions (the GIN expression for ``q``) and, for ``q``,
  the same MATERIALIZED-CTE shape as ``queries.image_page`` (see there for why). The
  text depends only on which filters are set, so asyncpg's per-connection statement
  cache prepares each shape once; the connections keep the engine's
  ``plan_cache_mode=force_custom_plan``, so each execution is still planned for its
  own values;
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
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Column
from sqlalchemy.ext.asyncio import AsyncEngine

from rankion_core.errors import Unavailable
from rankion_core.models import Image, ImageSort, Share
from rankion_core.ports import ImageFamily, ImageListing, ImageQuery

from .queries import tag_keys
from .rows import EntityRows
from .search import query_words, tsquery
from .sqlite_reads import TOP, WORD_BRANCHES
from .totals import unfiltered
from .uow import UNAVAILABLE_ERRORS

if TYPE_CHECKING:
    import asyncpg

__all__ = ["ListSql", "PgReads", "family_sql"]

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


_ORDER = {
    ImageSort.NEWEST: "{t}.created_at DESC, {t}.id DESC",
    ImageSort.OLDEST: "{t}.created_at ASC, {t}.id ASC",
    ImageSort.EDITED: "{t}.edited_at DESC NULLS LAST, {t}.id DESC",
}


#: the same orders over a tag's rows (``t``: ``image_tags``), newest and oldest only
_TAG_ORDER = {
    ImageSort.NEWEST: "t.created_at DESC, t.image_id DESC",
    ImageSort.OLDEST: "t.created_at ASC, t.image_id ASC",
}


def _order(sort: ImageSort, table: str) -> str:
    return _ORDER[sort].format(t=table)


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


class ListSql:
    """The one statement of a gallery list, built from its ``ImageQuery``.

    Its rows: ``total, <image columns>, <share columns>`` per listed image, in the
    list's order; when the page is empty, one row with the total and NULLs.
    """

    def __init__(self, query: ImageQuery, now: datetime, count_limit: int) -> None:
        self.params: list[Any] = [query.team_id]
        where = ["images.team_id = $1", "images.deleted_at IS NULL"]
        if query.model is not None:
            where.append(f"images.model = {self._param(query.model)}")
        if query.created_from is not None:
            where.append(f"images.created_at >= {self._param(_utc(query.created_from))}")
        if query.created_to is not None:
            where.append(f"images.created_at <= {self._param(_utc(query.created_to))}")
        if query.favorite is not None:
            where.append(f"images.is_favorite = {self._param(query.favorite)}")
        if query.project_id is not None:
            where.append(f"images.project_id = {self._param(query.project_id)}")
        if query.statuses:
            values = [s.value for s in query.statuses]
            where.append(f"images.processing_status = ANY({self._param(values)}::varchar[])")
        tags = tag_keys(query)
        words = query_words(query.q)
        # One tag, newest or oldest first, no ``q``: walk the tag's rows in date order
        # (``ix_image_tags_newest``, migration 0005) instead of every match of it.
        ordered_tag = (
            self._param(tags[0])
            if len(tags) == 1 and not words and query.sort in _TAG_ORDER
            else None
        )
        for tag in tags if ordered_tag is None else ():
            where.append(
                "images.id IN (SELECT image_tags.image_id FROM image_tags"
                f" WHERE image_tags.team_id = $1 AND image_tags.tag_lower = {self._param(tag)})"
            )
        # One word, no tag, newest or oldest first: walk the rows of each stored word
        # it is a prefix of in date order (``ix_image_words_newest``, migration 0006)
        # when there are at most ``WORD_BRANCHES`` of them, else the GIN matches.
        ordered_word = len(words) == 1 and not tags and query.sort in _TAG_ORDER
        filters = " AND ".join(where)  # all but the match filters
        if words:
            # the expression of ``ix_images_search``, so the GIN index answers it
            where.append(
                "array_to_tsvector(string_to_array(images.search_text, ' '))"
                f" @@ CAST({self._param(tsquery(words))}::text AS tsquery)"
            )
        conditions = " AND ".join(where)
        limit = self._param(query.per_page)
        offset = self._param((query.page - 1) * query.per_page)
        columns = select_list(LIST_IMAGE)
        capped: str | None = None
        ctes = []
        if words and ordered_word:
            capped = self._param(count_limit + 1)
            ctes.extend(self._word_ctes(words[0]))
            ctes.append(
                "hits AS MATERIALIZED (SELECT images.id, images.created_at, images.edited_at"
                f" FROM images WHERE {conditions})"
            )
            need = self._param(query.page * query.per_page)
            order = _TAG_ORDER[query.sort].replace("t.", "w.")
            # the word's row has the team and liveness: join images only for other filters
            rows = (
                "FROM image_words AS w WHERE w.team_id = $1 AND w.word = stored.word AND w.live"
                if len(where) == 3
                else "FROM image_words AS w JOIN images ON images.id = w.image_id"
                f" WHERE w.team_id = $1 AND w.word = stored.word AND w.live AND {filters}"
            )
            ctes.append(
                f"page AS ((SELECT {columns} FROM images JOIN (SELECT DISTINCT"
                " x.created_at, x.image_id FROM stored CROSS JOIN LATERAL"
                f" (SELECT w.created_at, w.image_id {rows}"
                f" ORDER BY {order} LIMIT {need}) AS x"
                f" ORDER BY {order.replace('w.', 'x.')} LIMIT {limit} OFFSET {offset})"
                " AS ids ON ids.image_id = images.id WHERE (SELECT walk FROM branches))"
                f" UNION ALL (SELECT {columns} FROM images JOIN (SELECT hits.id FROM hits"
                f" ORDER BY {_order(query.sort, 'hits')} LIMIT {limit} OFFSET {offset})"
                " AS ids ON ids.id = images.id WHERE NOT (SELECT walk FROM branches)))"
            )
            matching = (
                "SELECT 1 FROM (SELECT DISTINCT x.image_id FROM stored CROSS JOIN LATERAL"
                f" (SELECT w.image_id {rows} LIMIT {capped}) AS x) AS d"
                " WHERE (SELECT walk FROM branches)"
                " UNION ALL SELECT 1 FROM hits WHERE NOT (SELECT walk FROM branches)"
            )
        elif words:
            # the matches first (GIN, O(matches)), then only they are sorted: see
            # ``queries.image_page``
            ctes.append(
                "hits AS MATERIALIZED (SELECT images.id, images.created_at, images.edited_at"
                f" FROM images WHERE {conditions})"
            )
            ctes.append(
                f"page AS (SELECT {columns} FROM images JOIN (SELECT hits.id FROM hits"
                f" ORDER BY {_order(query.sort, 'hits')} LIMIT {limit} OFFSET {offset})"
                " AS ids ON ids.id = images.id)"
            )
            matching = "SELECT 1 FROM hits"
        elif ordered_tag is not None:
            tagged = (
                "FROM image_tags AS t JOIN images ON images.id = t.image_id"
                f" WHERE t.team_id = $1 AND t.tag_lower = {ordered_tag} AND t.live"
                f" AND {conditions}"
            )
            ctes.append(
                f"page AS (SELECT {columns} {tagged}"
                f" ORDER BY {_TAG_ORDER[query.sort]} LIMIT {limit} OFFSET {offset})"
            )
            plain = len(where) == 2  # the tag is the only filter: its index range alone
            matching = (
                "SELECT 1 FROM image_tags WHERE team_id = $1"
                f" AND tag_lower = {ordered_tag} AND live"
                if plain
                else f"SELECT 1 {tagged}"
            )
        elif query.page > 1:
            # the ids first (an index-only scan skips the offset), then their rows
            ctes.append(
                f"page AS (SELECT {columns} FROM images JOIN (SELECT images.id FROM images"
                f" WHERE {conditions} ORDER BY {_order(query.sort, 'images')}"
                f" LIMIT {limit} OFFSET {offset}) AS ids ON ids.id = images.id)"
            )
            matching = f"SELECT 1 FROM images WHERE {conditions}"
        else:
            ctes.append(
                f"page AS (SELECT {columns} FROM images WHERE {conditions}"
                f" ORDER BY {_order(query.sort, 'images')} LIMIT {limit} OFFSET {offset})"
            )
            matching = f"SELECT 1 FROM images WHERE {conditions}"
        self.kept = unfiltered(query)
        if self.kept:  # the trigger-kept count (``totals``), exact whatever its size
            total = "COALESCE((SELECT live FROM image_counts WHERE image_counts.team_id = $1), 0)"
        else:  # counted up to count_limit + 1: over the limit, the limit is a lower bound
            capped = capped or self._param(count_limit + 1)
            total = f"(SELECT count(*) FROM ({matching} LIMIT {capped}) AS matching)"
        self.sql = (
            f"WITH {', '.join(ctes)}"
            f" SELECT total.n, {select_list(LIST_IMAGE, 'page')},"
            f" {select_list(LIST_SHARE, 'share')}"
            f" FROM (SELECT {total} AS n) AS total LEFT JOIN page ON true"
            f" {_active_share('page.id', '$1', self._param(_utc(now)))}"
            f" ORDER BY {_order(query.sort, 'page')}"
        )
        self.count_limit = count_limit

    def _word_ctes(self, word: str) -> list[str]:
        """``stored``: the team's stored words that ``word`` is a prefix of (one index
        seek each, at most ``WORD_BRANCHES + 1``); ``branches``: whether to walk them
        (``walk``: at most ``WORD_BRANCHES``)."""
        low, high = self._param(word), self._param(word + TOP)
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

    def _param(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def listing(self, records: Sequence[Any]) -> ImageListing:
        counted = int(records[0][0]) if records else 0
        images: list[Image] = []
        found: dict[int, Share] = {}
        for record in records:
            if record[1] is None:  # the empty page's row: only the total
                continue
            image = LIST_IMAGE.one(record)
            images.append(image)
            if record[LIST_SHARE.start] is not None:
                found[image.id] = LIST_SHARE.one(record)
        exact = self.kept or counted <= self.count_limit
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


class PgReads:
    """``GalleryReads`` on PostgreSQL over the connections of ``engine``;
    ``close()`` closes the pool (the engine's own pool is not touched)."""

    def __init__(self, engine: AsyncEngine, pool_size: int | None = None) -> None:
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

    # -- GalleryReads

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
