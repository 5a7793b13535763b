"""The gallery's reads on SQLite with the stdlib driver.

A gallery page through ``AsyncSession`` and aiosqlite cost ~2 ms of CPU on top of a
0.3 ms query: statement building and cache keys, several thread hops per statement,
per-column result processing. ``SqliteReads`` answers ``Reads`` instead with
plain ``sqlite3`` connections of its own (one per thread that reads):

* each answer runs every statement of it (plan estimates, page, total, shares)
  inside one read transaction (``BEGIN`` … ``ROLLBACK``: one WAL snapshot, so page
  and total agree), on the calling thread (see ``SqliteReads`` for why);
* the SQL is written here as text (``ListSql``), one string per query shape, so
  SQLite's own statement cache reuses the prepared statements;
* rows become entities through the backend's one builder (``rows.EntityRows``, for
  the ``sqlite3`` driver's values): the same entities a repository hands out.

The connections are read-only (``PRAGMA query_only``); WAL keeps them from waiting
on writers. Answers equal the unit-of-work path's (the read contract,
``rankion_core/testing/storage/reads.py``, compares them on every query shape),
except that a filtered total may stop at the caller's ``count_limit`` (``total_exact=False``).

How a list with match filters (tags, ``q``) runs is chosen per request, as in
``plans``: **drive** from the smallest matching set (look each match up, sort them:
cost grows with the matches) or **probe** (walk the team's index in the wanted order
and test each row: cost grows with ``rows needed / share of rows matching``). The
share is estimated cheaply: a capped count of the tag's index range, and for ``q`` the
share of matches among the team's newest ``SAMPLE`` images (a word rare there is
counted in FTS5, capped: it may be common among older ones). A ``q`` probe tests the
stored words with ``instr`` (no FTS5 lookup per row); a ``q`` drive reads FTS5.
Newest or oldest first, a ``q`` word may also be walked in date order (``WORD_ORDER``):
the few stored words it is a prefix of (``image_words``, migration 0006) are each an
index range in date order, merged without duplicates.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from urllib.request import pathname2url

import attrs
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Result
from sqlalchemy.sql import Executable

from rankion_core.errors import Unavailable
from rankion_core.models import CalendarEvent, EventStatus, Image, ImageSort, LedgerEntry, Share
from rankion_core.ports import (
    DayQuery,
    EventQuery,
    ImageFamily,
    ImageListing,
    ImageQuery,
    SimilarListing,
    SimilarQuery,
)
from rankion_core.turns import TeamTurns

from .compiled import Plans
from .listings import (
    PagedStatements,
    event_statements,
    ledger_statements,
    page_values,
    trash_statements,
)
from .queries import WALKABLE_SORTS, compiled_filters, order_sql, plain_filters, tag_keys
from .repositories.events import day_counts_of, day_counts_statement
from .repositories.images import BY_IDS, similar_statements
from .rows import EntityRows, json_loads, rows_of
from .search import TOP, WORD_BRANCHES, fts5_query, query_words
from .totals import unfiltered

__all__ = [
    "SAMPLE",
    "WORD_BRANCHES",
    "ListSql",
    "Plan",
    "SqliteReads",
    "sqlite_time",
]

T = TypeVar("T")

#: how many of the team's newest images a ``q`` word's share is estimated from
SAMPLE = 500
#: tag matches counted (at most) to estimate a tag's share: past ~5,000 of 1M images
#: walking beats driving anyway
TAG_ESTIMATE_CAP = 5000
#: FTS5 matches counted (at most) when a ``q`` word is rare among the newest images
#: (of every team and trashed ones too: it is an estimate)
FTS_ESTIMATE_CAP = 5000
#: a drive costs about this many probe steps per match (measured at 1M images)
DRIVE_COST = 2.5
#: seconds an answer may run on the event loop before it is cut short and answered on
#: a reader thread (``SqliteReads``), and how long its team's answers go there after
INLINE_BUDGET = 0.005
SLOW_SECONDS = 10.0
#: reader threads for the answers over budget; teams remembered as slow (then pruned)
READERS = 2
SLOW_TEAMS = 1024
#: SQLite virtual machine steps between two looks at the clock (~0.1 ms)
PROGRESS_STEPS = 10_000
#: seconds FTS5 may count a ``q``'s matches (on a reader), and its steps between looks
#: at the clock (FTS5's are long: a few of them can take 20 ms)
FTS_BUDGET = 0.05
FTS_STEPS = 100
#: a ``q`` word alone (no tags) with at most this many stored words is walked word by
#: word without estimating its share (``ListSql.sure_word``)
WORD_SURE = 4


def sqlite_time(value: datetime) -> str:
    """A time as ``UTCDateTime`` stores it on SQLite (naive UTC, microseconds)."""
    v = value.astimezone(UTC)
    return (
        f"{v.year:04d}-{v.month:02d}-{v.day:02d} "
        f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}"
    )


def select_list(rows: EntityRows[Any]) -> str:
    """The columns of ``rows``, table-qualified, in order."""
    return ", ".join(f"{c.table.name}.{c.name}" for c in rows.columns)


IMAGES = EntityRows.of(Image, "sqlite")
SHARES = EntityRows.of(Share, "sqlite")
IMAGE_LIST, SHARE_LIST = select_list(IMAGES), select_list(SHARES)


#: How the rows of a list are found: ``WALK`` the team's index in the wanted order
#: testing every match filter on each row; ``DRIVE`` from one match filter's ids (all
#: of them, looked up and sorted); walk one tag's rows in date order (``TAG_ORDER``,
#: newest and oldest only), testing the other filters; or walk the rows of each stored
#: word that a ``q`` word is a prefix of, in date order (``WORD_ORDER``, newest and
#: oldest only; ``ix_image_words_newest``), testing the other filters, and merge them.
WALK, DRIVE, TAG_ORDER, WORD_ORDER = "walk", "drive", "tag-order", "word-order"


@attrs.frozen
class Plan:
    how: str = WALK
    #: the match filter driven from or walked: ``"q"`` or a tag key (``WORD_ORDER``:
    #: the query word whose stored words are walked)
    source: str | None = None


def _unqualified(sort: ImageSort) -> str:
    """The order of a word's rows merged (their ``created_at, image_id``)."""
    return order_sql(sort, "sqlite", "", "image_id")


class ListSql:
    """The SQL of one image list, built from its ``ImageQuery``.

    ``where`` holds the plain filters; ``tags`` and ``words`` the match filters, each
    either a row-by-row test (``probe``) or what the plan starts from (``matches``).
    """

    def __init__(self, query: ImageQuery) -> None:
        self.query = query
        self.tags = tag_keys(query)
        self.words = query_words(query.q)
        shape, values = plain_filters(query)
        filters = compiled_filters("sqlite", shape)  # compiled once per shape
        #: whether any plain filter (not a match filter) is set
        self.plain_filtered = bool(shape)
        self.where = ["images.deleted_at IS NULL", *([filters.sql] if filters.sql else [])]
        self.params = filters.params(values)
        self.order = order_sql(query.sort, "sqlite", "images")
        self.need = query.page * query.per_page
        self.tag_ordered = query.sort in WALKABLE_SORTS and bool(self.tags)
        self.word_ordered = query.sort in WALKABLE_SORTS and bool(self.words)
        #: per query word, the team's stored words it is a prefix of (set by
        #: ``_stored_words``; a word with more than ``WORD_BRANCHES`` is left out)
        self.stored: dict[str, list[str]] = {}
        #: per query word of ``stored``, its estimated number of matches
        self.word_estimates: dict[str, float] = {}

    def probe(
        self, skip: str | None = None, skip_word: str | None = None
    ) -> tuple[list[str], list[Any]]:
        """Row-by-row tests of every match filter but ``skip`` (``"q"`` or a tag) and
        but the query word ``skip_word``."""
        terms: list[str] = []
        params: list[Any] = []
        for tag in self.tags:
            if tag != skip:
                terms.append(
                    "EXISTS (SELECT 1 FROM image_tags"
                    " WHERE image_tags.image_id = images.id AND image_tags.tag_lower = ?)"
                )
                params.append(tag)
        if skip != "q":
            for word in self.words:
                if word == skip_word:
                    continue
                # every stored word follows a space: a prefix of one is " " + word
                terms.append("instr(' ' || images.search_text, ?) > 0")
                params.append(" " + word)
        return terms, params

    def matches(self, source: str) -> tuple[str, list[Any]]:
        """The ids matching ``source`` (``"q"`` or a tag), from its index."""
        if source == "q":
            _leave_the_loop()
            sql = "SELECT rowid AS id FROM images_fts WHERE images_fts MATCH ?"
            return sql, [fts5_query(self.words)]
        sql = "SELECT image_id AS id FROM image_tags WHERE team_id = ? AND tag_lower = ?"
        return sql, [self.query.team_id, source]

    def _rows(self, plan: Plan) -> tuple[str, list[Any], str]:
        """``FROM … WHERE …`` of the matching rows, its parameters, and its order."""
        probes, probe_params = self.probe(skip=plan.source)
        where = " AND ".join([*self.where, *probes])
        rest = [self.query.team_id, *self.params, *probe_params]
        if plan.how == TAG_ORDER:
            return (
                "FROM image_tags AS t CROSS JOIN images ON images.id = t.image_id"
                " WHERE t.team_id = ? AND t.tag_lower = ? AND t.live = 1"
                f" AND images.team_id = ? AND {where}",
                [self.query.team_id, plan.source, *rest],
                order_sql(self.query.sort, "sqlite", "t", "image_id"),
            )
        if plan.how == DRIVE:
            assert plan.source is not None
            matches, match_params = self.matches(plan.source)
            # CROSS JOIN: SQLite keeps the written order, so the matches drive
            return (
                f"FROM ({matches}) AS m CROSS JOIN images ON images.id = m.id"
                f" WHERE images.team_id = ? AND {where}",
                [*match_params, *rest],
                self.order,
            )
        return f"FROM images WHERE images.team_id = ? AND {where}", rest, self.order

    def _word_rows(self, plan: Plan, join_always: bool = False) -> tuple[str, list[Any]]:
        """``FROM … WHERE …`` of the matching rows of one stored word of
        ``plan.source`` (``image_words AS w``, the word a parameter appended by the
        caller), and its other parameters. Joins ``images`` only when a filter needs
        it (``live`` and ``team_id`` are in the word's row), or if ``join_always``."""
        assert plan.source is not None
        probes, probe_params = self.probe(skip_word=plan.source)
        head = " WHERE w.team_id = ? AND w.live = 1"
        if not self.plain_filtered and not probes:
            join = " CROSS JOIN images ON images.id = w.image_id" if join_always else ""
            return f"FROM image_words AS w{join}{head}", [self.query.team_id]
        where = " AND ".join([*self.where, *probes])
        return (
            f"FROM image_words AS w CROSS JOIN images ON images.id = w.image_id"
            f" AND images.team_id = ? AND {where}{head}",
            [self.query.team_id, *self.params, *probe_params, self.query.team_id],
        )

    def _word_union(
        self, plan: Plan, columns: str, order: str, limit: int
    ) -> tuple[str, list[Any]]:
        """The ``UNION`` (distinct rows: an image may hold two of the words) of one
        branch per stored word of ``plan.source``, each its first ``limit`` rows
        (``columns`` of ``w``) in ``order``, if any."""
        rows, params = self._word_rows(plan)
        ordered = f" ORDER BY {order}" if order else ""
        branches: list[str] = []
        values: list[Any] = []
        for word in self.stored[plan.source or ""]:
            branches.append(
                f"SELECT * FROM (SELECT {columns} {rows} AND w.word = ?{ordered} LIMIT ?)"
            )
            values.extend((*params, word, limit))
        if not branches:
            return f"SELECT {columns} FROM image_words AS w WHERE 0", []
        return " UNION ".join(branches), values

    def page(self, plan: Plan) -> tuple[str, list[Any]]:
        offset = (self.query.page - 1) * self.query.per_page
        if plan.how == WORD_ORDER:
            order = order_sql(self.query.sort, "sqlite", "w", "image_id")
            words = self.stored[plan.source or ""]
            if len(words) == 1 and offset == 0:  # one word, page 1: the plain form
                rows, params = self._word_rows(plan, join_always=True)
                sql = f"SELECT {IMAGE_LIST} {rows} AND w.word = ? ORDER BY {order} LIMIT ?"
                return sql, [*params, words[0], self.query.per_page]
            # each word's first ``need`` matches hold the union's first ``need``
            union, params = self._word_union(plan, "w.created_at, w.image_id", order, self.need)
            sql = (
                f"SELECT {IMAGE_LIST} FROM images WHERE images.id IN"
                f" (SELECT image_id FROM ({union}) ORDER BY {_unqualified(self.query.sort)}"
                f" LIMIT ? OFFSET ?) ORDER BY {self.order}"
            )
            return sql, [*params, self.query.per_page, offset]
        rows, params, order = self._rows(plan)
        if plan.how == WALK and offset == 0:  # the plain form: 10 % cheaper on page 1
            sql = f"SELECT {IMAGE_LIST} {rows} ORDER BY {order} LIMIT ?"
            return sql, [*params, self.query.per_page]
        # the ids first, then the rows: skipped rows cost an index entry, not a row
        sql = (
            f"SELECT {IMAGE_LIST} FROM images WHERE images.id IN"
            f" (SELECT images.id {rows} ORDER BY {order} LIMIT ? OFFSET ?)"
            f" ORDER BY {self.order}"
        )
        return sql, [*params, self.query.per_page, offset]

    def count(self, plan: Plan, limit: int) -> tuple[str, list[Any]]:
        """How many rows match, counting at most ``limit``."""
        if plan.how == TAG_ORDER and self.only_tag():  # the tag's index range alone
            return (
                "SELECT count(*) FROM (SELECT 1 FROM image_tags"
                " WHERE team_id = ? AND tag_lower = ? AND live = 1 LIMIT ?)",
                [self.query.team_id, plan.source, limit],
            )
        if plan.how == WORD_ORDER:
            # distinct images: one may hold two of the words (``harbour``, ``harbor``);
            # if one word has ``limit`` matches the union has, else each is complete
            union, params = self._word_union(plan, "w.image_id", "", limit)
            return f"SELECT count(*) FROM ({union})", params
        rows, params, _ = self._rows(plan)
        return f"SELECT count(*) FROM (SELECT 1 {rows} LIMIT ?)", [*params, limit]

    def sure_word(self) -> str | None:
        """The query word whose stored words are walked in order whatever its share,
        if any: ``q``'s only word, no tag, at most ``WORD_SURE`` stored words. Each
        walks at most as many rows as a walk of the team's images would (that also
        tests ``q``), so it costs at most ``WORD_SURE`` times a walk, and usually far
        less (a walk visits ``rows needed / share of q``)."""
        if len(self.words) != 1 or self.tags or not self.word_ordered:
            return None
        found = self.stored.get(self.words[0])
        return None if found is None or len(found) > WORD_SURE else self.words[0]

    def only_tag(self) -> bool:
        """Whether one tag is the list's only filter."""
        return not self.plain_filtered and len(self.tags) == 1 and not self.words


class SqliteReads:
    """``Reads`` on a SQLite file; ``close()`` closes its connections.

    Each answer runs **on the caller's thread**, blocking the event loop for its
    duration, as the minimal raw-``sqlite3`` baseline handler does. Handing it to
    a reader thread instead cost 40 % of the throughput: the thread hop, and above all
    the GIL handed back and forth between the loop and the reader (measured 527 vs 879
    requests/s on the same page). Nearly every answer is short: every statement here
    is an index range bounded by the page, by ``count_limit`` or by the plan
    estimates (a ``q`` list of a word on ~0.4 % of 1M images: ~7 ms).

    Not every one: a ``q`` of many one-letter words makes FTS5 read the prefixes of
    every team's words, seconds during which no other request was answered. So an
    answer on the loop has ``INLINE_BUDGET``; SQLite's progress handler cuts it short
    past that, and it is answered again on a reader thread (``READERS`` of them, one
    answer of a team at a time), as are the team's answers for ``SLOW_SECONDS`` after.
    The loop gives at most the budget to a read that turns out slow; the slow reads
    cost their team's time and a reader's core, not everyone's.
    """

    def __init__(self, path: str, *, busy_timeout_ms: int = 5000) -> None:
        self.path = path
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._readers: ThreadPoolExecutor | None = None
        #: teams whose answers go to a reader, until when (``time.monotonic``)
        self._slow: dict[int, float] = {}
        #: one answer of a team on a reader at a time
        self._turns = TeamTurns()

    def _connection(self) -> sqlite3.Connection:
        """This thread's read-only connection (opened on first use)."""
        con: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if con is None:
            # ``mode=rw``: a missing file is an error (503), never a new empty database
            uri = f"file:{pathname2url(os.path.abspath(self.path))}?mode=rw"
            con = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
            for pragma in (
                f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}",
                "PRAGMA query_only=ON",
                "PRAGMA cache_size=-65536",  # 64 MiB of pages
                "PRAGMA mmap_size=1073741824",  # read the file through up to 1 GiB of mmap
            ):
                con.execute(pragma)
            self._local.connection = con
            with self._lock:
                self._opened.append(con)
        return con

    def _snapshot(self, read: Callable[..., T], *args: Any, budget: float | None = None) -> T:
        """``read(connection, *args)`` inside one read transaction (one WAL snapshot);
        ``OverBudget`` once it has run ``budget`` seconds."""
        deadline = time.perf_counter() + (budget or 0.0)
        try:
            con = self._connection()
            if budget is not None:
                _budget(con, deadline, PROGRESS_STEPS)
                _answering.on_loop = True
            try:
                con.execute("BEGIN")
                try:
                    return read(con, *args)
                finally:
                    _unbudgeted(con)  # first: the ROLLBACK must not be cut short
                    con.execute("ROLLBACK")
            finally:
                _unbudgeted(con)  # BEGIN itself may have been
        except sqlite3.OperationalError as exc:  # locked, missing, unreadable
            if budget is not None and time.perf_counter() > deadline:
                raise OverBudget from exc
            raise Unavailable("storage is unavailable") from exc

    async def _answer(self, team_id: int, read: Callable[..., T], *args: Any) -> T:
        """``read`` on the loop within ``INLINE_BUDGET``, else on a reader (the class
        says why)."""
        now = time.monotonic()
        if self._slow.get(team_id, 0.0) <= now:
            try:
                return self._snapshot(read, *args, budget=INLINE_BUDGET)
            except OverBudget:
                if len(self._slow) >= SLOW_TEAMS:
                    self._slow = {t: u for t, u in self._slow.items() if u > now}
                self._slow[team_id] = now + SLOW_SECONDS
        async with self._turns.turn(team_id):
            if self._readers is None:
                self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="rankion-read")
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                self._readers, functools.partial(self._snapshot, read, *args)
            )

    async def close(self) -> None:
        readers, self._readers = self._readers, None
        if readers is not None:  # the answers under way end first, off the loop
            await asyncio.to_thread(readers.shutdown, wait=True)
        with self._lock:
            for con in self._opened:
                con.close()
            self._opened.clear()
        self._local = threading.local()

    # -- Reads: the gallery's

    async def image_listing(
        self, query: ImageQuery, now: datetime, count_limit: int
    ) -> ImageListing:
        return await self._answer(query.team_id, _listing, query, sqlite_time(now), count_limit)

    async def image_family(self, team_id: int, image_id: int, now: datetime) -> ImageFamily | None:
        return await self._answer(team_id, _family, team_id, image_id, sqlite_time(now))

    # -- the lists whose cost grows with the team's data: Core statements (one
    # definition with the repositories'), compiled once for these connections

    async def event_page(
        self, query: EventQuery, *, count_limit: int | None = None
    ) -> tuple[list[CalendarEvent], int]:
        statements, params = event_statements(query, count_limit=count_limit)
        return await self._answer(
            query.team_id, _listed, statements, params, query.page, query.per_page
        )

    async def day_counts(self, query: DayQuery) -> list[tuple[date, EventStatus, int]]:
        if not query.days:
            return []
        stmt, params = day_counts_statement("sqlite", query)
        return day_counts_of(await self._answer(query.team_id, _all, stmt, params))

    async def ledger_page(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[list[LedgerEntry], int]:
        params = {"team_id": team_id}
        return await self._answer(team_id, _listed, ledger_statements(), params, page, per_page)

    async def trash_listing(
        self, team_id: int, page: int, per_page: int, now: datetime
    ) -> ImageListing:
        return await self._answer(team_id, _trash, team_id, page, per_page, sqlite_time(now))

    async def similar_listing(self, query: SimilarQuery, now: datetime) -> SimilarListing | None:
        return await self._answer(query.team_id, _similar, query, sqlite_time(now))


class OverBudget(Exception):
    """An answer on the loop ran past ``INLINE_BUDGET`` (and was cut short), or was
    about to read FTS5 (``_leave_the_loop``)."""


#: ``on_loop``: this thread's answer runs on the event loop (``SqliteReads._snapshot``)
_answering = threading.local()


def _budget(con: sqlite3.Connection, deadline: float, steps: int) -> None:
    """Statements of ``con`` are cut short (``OperationalError``) past ``deadline``
    (``time.perf_counter``), looked at every ``steps`` steps of SQLite's machine."""
    con.set_progress_handler(lambda: time.perf_counter() > deadline, steps)


def _unbudgeted(con: sqlite3.Connection) -> None:
    """The connection without a budget, and this thread's answer not on the loop."""
    con.set_progress_handler(None, 0)
    _answering.on_loop = False


def _leave_the_loop() -> None:
    """``OverBudget`` on the loop: FTS5 is one index of every team's words, and a
    prefix of a letter or two makes it read a great part of it inside one step of
    SQLite's machine, where the progress handler cannot cut it short (about a second
    at 300,000 images)."""
    if getattr(_answering, "on_loop", False):
        raise OverBudget


# -- the reads, each inside one read transaction


def _scalar(con: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    row = con.execute(sql, params).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _live(con: sqlite3.Connection, team_id: int) -> int:
    return _scalar(con, "SELECT live FROM image_counts WHERE team_id = ?", [team_id])


def _estimates(con: sqlite3.Connection, sql: ListSql, live: int) -> dict[str, float]:
    """An estimated number of matching images for each match filter (and for each
    query word walkable in order: ``sql.word_estimates``)."""
    team = sql.query.team_id
    found: dict[str, float] = {}
    for tag in sql.tags:
        found[tag] = _scalar(
            con,
            "SELECT count(*) FROM (SELECT 1 FROM image_tags"
            " WHERE team_id = ? AND tag_lower = ? AND live = 1 LIMIT ?)",
            [team, tag, TAG_ESTIMATE_CAP],
        )
    if sql.words and sql.sure_word() is not None:
        # not estimated: ``_plan`` walks the word's stored words whatever their share
        found["q"] = float(live)
    elif sql.words:
        tests = " AND ".join("instr(' ' || search_text, ?) > 0" for _ in sql.words)
        sampled = min(SAMPLE, live)
        hits = _scalar(
            con,
            f"SELECT count(*) FROM (SELECT search_text FROM images"
            f" WHERE team_id = ? AND deleted_at IS NULL"
            f" ORDER BY created_at DESC, id DESC LIMIT ?) WHERE {tests}",
            [team, sampled, *(" " + w for w in sql.words)],
        )
        found["q"] = hits / sampled * live if sampled else 0.0
        if hits <= 2 or len(sql.words) > 1:
            # each walkable word's live matches, counted in its range of stored words
            for word in sql.stored:
                sql.word_estimates[word] = _scalar(
                    con,
                    "SELECT count(*) FROM (SELECT 1 FROM image_words"
                    " WHERE team_id = ? AND word >= ? AND word < ? AND live = 1 LIMIT ?)",
                    [team, word, word + TOP, FTS_ESTIMATE_CAP],
                )
        else:
            sql.word_estimates = dict.fromkeys(sql.stored, found["q"])
        if hits <= 2 and sql.word_estimates:  # rare among the newest, maybe not older:
            # count its matches: at most those of its rarest walkable word; else in FTS5
            found["q"] = min(sql.word_estimates.values())
        elif hits <= 2:
            found["q"] = _fts_count(con, sql)
    return found


def _fts_count(con: sqlite3.Connection, sql: ListSql) -> float:
    """The ``q`` words' matches in FTS5, counted up to ``FTS_ESTIMATE_CAP`` for at most
    ``FTS_BUDGET`` seconds; a count cut short is the cap: as many as that, or more, so
    the plan does not drive from FTS5 either. Short prefixes of common letters make
    FTS5 read much of every team's words (a third of a second at 300,000 images), and
    the readers are shared by all teams."""
    _leave_the_loop()
    deadline = time.perf_counter() + FTS_BUDGET
    _budget(con, deadline, FTS_STEPS)
    try:
        return _scalar(
            con,
            "SELECT count(*) FROM (SELECT rowid FROM images_fts WHERE images_fts MATCH ? LIMIT ?)",
            [fts5_query(sql.words), FTS_ESTIMATE_CAP],
        )
    except sqlite3.OperationalError:
        if time.perf_counter() <= deadline:
            raise
        return float(FTS_ESTIMATE_CAP)
    finally:
        _unbudgeted(con)


def _stored_words(con: sqlite3.Connection, sql: ListSql) -> None:
    """Which stored words of the team each query word is a prefix of (``sql.stored``),
    when there are at most ``WORD_BRANCHES``."""
    team = sql.query.team_id
    for word in sql.words:
        # one index seek per distinct word (a DISTINCT would read every row of the range)
        found = [
            row[0]
            for row in con.execute(
                "WITH RECURSIVE s(word) AS ("
                " SELECT (SELECT min(word) FROM image_words"
                "  WHERE team_id = ? AND word >= ? AND word < ?)"
                " UNION ALL SELECT (SELECT min(word) FROM image_words"
                "  WHERE team_id = ? AND word > s.word AND word < ?)"
                " FROM s WHERE s.word IS NOT NULL LIMIT ?)"
                " SELECT word FROM s WHERE word IS NOT NULL",
                [team, word, word + TOP, team, word + TOP, WORD_BRANCHES + 1],
            )
        ]
        if len(found) <= WORD_BRANCHES:
            sql.stored[word] = found


def _plan(
    sql: ListSql, estimates: dict[str, float], live: int, need: int, *, sorting: bool
) -> Plan:
    """The cheapest way to find ``need`` rows, in rows visited (a drive's rows cost
    ``DRIVE_COST`` each). A sorted page must visit every match when it drives; a count
    stops at ``need``."""
    if not estimates:
        return Plan()
    sure = sql.sure_word()
    if sure is not None:
        return Plan(WORD_ORDER, sure)
    source = min(estimates, key=estimates.__getitem__)
    fewest = max(estimates[source], 1.0)
    visited = fewest if sorting else min(fewest, need)
    costs = {
        Plan(WALK): need * max(live, 1) / fewest,
        Plan(DRIVE, source): DRIVE_COST * visited,
    }
    if sql.tag_ordered:  # walk the rarest tag in order, testing the rest
        tag = min(sql.tags, key=estimates.__getitem__)
        costs[Plan(TAG_ORDER, tag)] = need * max(estimates[tag], 1.0) / fewest
    if sql.word_ordered and sql.stored:  # walk the rarest word's stored words in order
        word = min(sql.stored, key=sql.word_estimates.__getitem__)
        matches = max(sql.word_estimates[word], 1.0)
        # each stored word's branch reads up to ``need`` rows that pass the other
        # filters (all of its rows at most)
        branches = max(len(sql.stored[word]), 1)
        costs[Plan(WORD_ORDER, word)] = min(matches, branches * need * matches / fewest)
    return min(costs, key=costs.__getitem__)


def _listing(con: sqlite3.Connection, query: ImageQuery, now: str, limit: int) -> ImageListing:
    sql = ListSql(query)
    live = _live(con, query.team_id)
    if sql.words:
        _stored_words(con, sql)
    estimates = _estimates(con, sql, live)
    plan = _plan(sql, estimates, live, sql.need, sorting=True)
    images = IMAGES.many(con.execute(*sql.page(plan)))
    if unfiltered(query):
        total, exact = live, True
    else:
        plan = _plan(sql, estimates, live, limit + 1, sorting=False)
        counted = _scalar(con, *sql.count(plan, limit + 1))
        total, exact = (limit, False) if counted > limit else (counted, True)
    return ImageListing(
        images=images,
        total=total,
        total_exact=exact,
        shares=_shares(con, query.team_id, [i.id for i in images], now),
    )


def _shares(con: sqlite3.Connection, team_id: int, ids: list[int], now: str) -> dict[int, Share]:
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    rows = con.execute(
        f"SELECT {SHARE_LIST} FROM shares WHERE shares.team_id = ?"
        " AND shares.revoked_at IS NULL"
        " AND (shares.expires_at IS NULL OR shares.expires_at > ?)"
        f" AND shares.image_id IN ({marks}) ORDER BY shares.id",
        [team_id, now, *ids],
    )
    # ascending ids: the newest active share of an image wins (as ShareRepo does)
    return {share.image_id: share for share in SHARES.many(rows)}


def _family(con: sqlite3.Connection, team_id: int, image_id: int, now: str) -> ImageFamily | None:
    root = _scalar(
        con,
        "SELECT coalesce(root_id, id) FROM images WHERE team_id = ? AND id = ?",
        [team_id, image_id],
    )
    if not root:
        return None
    # two index lookups (see ImageRepo.tree): the root, and the rows below it — the
    # image is one of them (the root, or a row whose root_id is the root)
    tree = IMAGES.many(
        con.execute(
            f"SELECT {IMAGE_LIST} FROM images WHERE images.team_id = ? AND images.id = ?"
            f" UNION ALL SELECT {IMAGE_LIST} FROM images"
            " WHERE images.team_id = ? AND images.root_id = ? AND images.id != ?"
            " ORDER BY 1",
            [team_id, root, team_id, root, root],
        )
    )
    image = next(i for i in tree if i.id == image_id)
    return ImageFamily(
        image=image, tree=tree, shares=_shares(con, team_id, [i.id for i in tree], now)
    )


# -- Core statements on these connections (``compiled``: the plan of each, made once)

#: the writer's dialect as the reads need it: JSON read as its engine reads it
PLANS = Plans(sqlite.dialect(json_deserializer=json_loads))


def _run(con: sqlite3.Connection, statement: Executable, params: dict[str, Any]) -> Result[Any]:
    return PLANS.compiled(statement, tuple(params)).fetch(con, params)


def _all(con: sqlite3.Connection, statement: Executable, params: dict[str, Any]) -> list[Any]:
    return list(_run(con, statement, params).all())


def _listed(
    con: sqlite3.Connection,
    statements: PagedStatements,
    params: dict[str, Any],
    page: int,
    per_page: int,
) -> tuple[list[Any], int]:
    """One page of a list and its total, as ``Repository._listed`` reads them."""
    rows = _run(con, statements.page, {**params, **page_values(page, per_page)})
    return statements.rows.many(rows), int(_run(con, statements.count, params).scalar() or 0)


_IMAGE = rows_of(Image)


def _trash(
    con: sqlite3.Connection, team_id: int, page: int, per_page: int, now: str
) -> ImageListing:
    images, total = _listed(con, trash_statements(), {"team_id": team_id}, page, per_page)
    shares = _shares(con, team_id, [i.id for i in images], now)
    return ImageListing(images=images, total=total, total_exact=True, shares=shares)


def _images(con: sqlite3.Connection, team_id: int, ids: list[int]) -> list[Image]:
    """The team's images among ``ids`` (``ImageRepository.get_many``)."""
    if not ids:
        return []
    found = _IMAGE.many(_run(con, BY_IDS, {"ids": sorted(set(ids))}))
    return [i for i in found if i.team_id == team_id]


def _similar(con: sqlite3.Connection, query: SimilarQuery, now: str) -> SimilarListing | None:
    """As ``ImageRepo.similar`` reads it (its statements)."""
    team_id, page, per_page = query.team_id, query.page, query.per_page
    found = _images(con, team_id, [query.image_id])
    if not found:
        return None
    image = found[0]
    if image.phash is None:
        return SimilarListing(image=image, near=[], total=0, shares={})
    paged, counted, values = similar_statements(
        "sqlite", team_id, image.phash, query.max_distance, image.id
    )
    shown = _all(con, paged, {**values, **page_values(page, per_page)})
    if shown:
        total = int(shown[0].total)
    elif page > 1:  # past the last page: the count alone
        total = int(_all(con, counted, values)[0][0])
    else:
        total = 0
    by_id = {i.id: i for i in _images(con, team_id, [int(r.id) for r in shown])}
    near = [(by_id[r.id], int(r.d)) for r in shown if r.id in by_id]
    shares = _shares(con, team_id, [i.id for i, _ in near], now)
    return SimilarListing(image=image, near=near, total=total, shares=shares)
