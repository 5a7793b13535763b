"""What every repository shares: one session, rows made entities, paging."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import JSON, Table, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import CursorResult, Row
from sqlalchemy.sql import Executable, Select
from sqlalchemy.sql.dml import Insert, ReturningInsert, ReturningUpdate, Update

from ..inline import InlineSession
from ..listings import PagedStatements, page_values
from ..queries import Condition
from ..rows import EntityRows, table_of, values_of
from ..session import Session
from ..tables import team_counts

__all__ = ["Repository", "dialect_insert", "team_count"]

T = TypeVar("T")

# Statements built once and run with their values as parameters. Building a statement
# is most of what a short one costs: ``update(t).where(…).values(<30 columns>)`` took
# 670 us to build and 1.5 ms to run, the same statement built once 190 us to run (the
# coercion of every value and the cache key over them, on each call). The values go
# as parameters, so SQLAlchemy's compiled cache keeps one entry per statement and set
# of keys.
_INSERTS: dict[Table, Insert] = {}
_INSERTS_RETURNING_ID: dict[Table, ReturningInsert[Any]] = {}
_UPDATES: dict[tuple[Table, tuple[str, ...], tuple[str, ...]], Update] = {}
_SELECTS: dict[tuple[EntityRows[Any], tuple[str, ...], bool], Select[Any]] = {}
#: the prefix of the parameters of a built ``WHERE`` (never a column's name)
_WHERE = "where_"
#: the prefix of the parameters of the values a guarded ``UPDATE`` expects as read
_WAS = "was_"


def _insert_of(table: Table) -> Insert:
    stmt = _INSERTS.get(table)
    if stmt is None:
        stmt = _INSERTS[table] = insert(table)
    return stmt


def _insert_returning_id(table: Table) -> ReturningInsert[Any]:
    stmt = _INSERTS_RETURNING_ID.get(table)
    if stmt is None:
        stmt = _INSERTS_RETURNING_ID[table] = insert(table).returning(table.c.id)
    return stmt


def _update_of(table: Table, keys: tuple[str, ...], kept: tuple[str, ...] = ()) -> Update:
    """``UPDATE table SET <the parameters' columns> WHERE key = :where_key …``, and
    ``AND column IS NOT DISTINCT FROM :was_column`` for each of ``kept`` (PostgreSQL
    only: a JSON column is compared as ``jsonb``, ``json`` has no equality)."""
    stmt = _UPDATES.get((table, keys, kept))
    if stmt is None:
        where = [table.c[key] == bindparam(_WHERE + key) for key in keys]
        for name in kept:
            column, was = table.c[name], bindparam(_WAS + name, type_=table.c[name].type)
            if isinstance(column.type, JSON):
                where.append(sa.cast(column, JSONB) == sa.cast(was, JSONB))
            else:
                where.append(column.is_not_distinct_from(was))
        stmt = _UPDATES[(table, keys, kept)] = update(table).where(*where)
    return stmt


def _select_of(rows: EntityRows[Any], keys: tuple[str, ...], lock: bool = False) -> Select[Any]:
    """``SELECT <rows' columns> WHERE key = :key …`` (``rows``' table), ``FOR UPDATE``
    with ``lock`` (which SQLite leaves out: its units of work run one at a time)."""
    stmt = _SELECTS.get((rows, keys, lock))
    if stmt is None:
        table = rows.columns[0].table
        stmt = rows.select().where(*(table.c[key] == bindparam(key) for key in keys))
        if lock:
            stmt = stmt.with_for_update()
        _SELECTS[(rows, keys, lock)] = stmt
    return stmt


@cache
def team_count(column: str) -> Select[Any]:
    """The ``:team_id`` team's count of one kind: a column of ``team_counts``, kept by
    triggers (migration ``0017_team_counts``); no row is none."""
    c = team_counts.c
    return select(c[column]).where(c.team_id == bindparam("team_id"))


def dialect_insert(dialect: str, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT, which knows ``ON CONFLICT``."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


_JSON_COLUMNS: dict[Table, frozenset[str]] = {}


def _copied(value: Any) -> Any:
    """A JSON value's own copy (its lists and dicts new, the rest immutable)."""
    if isinstance(value, list):
        return [_copied(v) for v in value]
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    return value


def _snapshot(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` as they are now: JSON values (lists, dicts the caller may change in
    place) copied."""
    json = _JSON_COLUMNS.get(table)
    if json is None:
        json = _JSON_COLUMNS[table] = frozenset(c.name for c in table.c if isinstance(c.type, JSON))
    return {k: _copied(v) if k in json else v for k, v in values.items()}


class Repository:
    """Base of the repositories of one unit of work.

    Entities are plain values: what a repository hands out is the caller's to mutate,
    and only an explicit ``add`` or ``update`` writes.

    ``update`` of an entity this unit of work read by key (``_first_where``) writes the
    fields that differ from what was read, not every field: an ``UPDATE`` of every
    column of an image fired every trigger and rewrote every index of the row (~250 µs
    on SQLite, against ~25 µs for a title and its time).
    """

    def __init__(self, session: Session, dialect: str) -> None:
        self.session = session
        self.dialect = dialect
        #: the values of the rows read by key in this unit of work, by table and key
        self._read: dict[tuple[Table, tuple[Any, ...]], dict[str, Any]] = {}

    def _remember(self, table: Table, values: dict[str, Any]) -> None:
        key = tuple(values[c.name] for c in table.primary_key)
        self._read[(table, key)] = _snapshot(table, values)

    async def _add(self, entity: T, **private: Any) -> T:
        """INSERT the entity's row (with ``private`` columns, not entity fields); a
        ``0`` id becomes the id the database assigns, set on ``entity``."""
        table = table_of(type(entity))
        values = {**values_of(entity), **private}
        if values.get("id") == 0:
            del values["id"]
            found = await self.session.scalar(_insert_returning_id(table), values)
            entity.id = int(found or 0)  # type: ignore[attr-defined]
        else:
            await self.session.execute(_insert_of(table), values)
        return entity

    async def _all(self, rows: EntityRows[T], stmt: Select[Any], *, lock: bool = False) -> list[T]:
        """The entities of ``stmt`` (a select of ``rows.columns``); with ``lock``, its
        rows locked until the unit of work ends (``FOR UPDATE``) and remembered for
        ``_update_row``, as a read by key is."""
        if not lock:
            return rows.many(await self.session.execute(stmt))
        found = rows.many(await self.session.execute(stmt.with_for_update()))
        for entity in found:
            self._remember(table_of(type(entity)), values_of(entity))
        return found

    async def _rows_off_loop(
        self, stmt: Executable, params: dict[str, Any]
    ) -> Sequence[Row[*tuple[Any, ...]]]:
        """The rows of a statement whose work grows with the team's data, not with a
        page: off the event loop's thread where units of work run inline (SQLite),
        as any other statement elsewhere (the driver awaits the database already)."""
        if isinstance(self.session, InlineSession):
            return await self.session.rows_off_loop(stmt, params)
        return (await self.session.execute(stmt, params)).all()

    async def _first_where(
        self, rows: EntityRows[T], *, lock: bool = False, **equal: Any
    ) -> T | None:
        """The first entity whose columns equal ``equal`` (by a statement built once);
        remembered for ``_update_row``. ``lock``: its row is locked until the unit of
        work ends (``SELECT … FOR UPDATE``)."""
        stmt = _select_of(rows, tuple(equal), lock)
        row = (await self.session.execute(stmt, equal)).first()
        if row is None:
            return None
        entity = rows.one(row)
        self._remember(table_of(type(entity)), values_of(entity))
        return entity

    def _changed(
        self,
        table: Table,
        entity: Any,
        fields: tuple[str, ...],
        values: dict[str, Any] | None = None,
    ) -> bool:
        """Whether any of ``fields`` of ``entity`` differs from its row as this unit of
        work read it (True when it did not read it); ``values``: ``values_of(entity)``
        when the caller has them."""
        if values is None:
            values = values_of(entity)
        before = self._read.get((table, tuple(values[c.name] for c in table.primary_key)))
        return before is None or any(before[f] != values[f] for f in fields)

    async def _first(self, rows: EntityRows[T], stmt: Select[Any]) -> T | None:
        row = (await self.session.execute(stmt)).first()
        return None if row is None else rows.one(row)

    async def _returned(
        self, rows: EntityRows[T], stmt: ReturningInsert[Any] | ReturningUpdate[Any]
    ) -> T | None:
        """The entity a DML ``… RETURNING rows.columns`` statement gave back, if any."""
        row = (await self.session.execute(stmt)).first()
        return None if row is None else rows.one(row)

    async def _team_count(self, column: str, team_id: int) -> int:
        """``team_count``: one row read."""
        return int(await self.session.scalar(team_count(column), {"team_id": team_id}) or 0)

    async def _count(self, table: Table, where: Sequence[Condition]) -> int:
        stmt = select(func.count()).select_from(table).where(*where)
        return int(await self.session.scalar(stmt) or 0)

    async def _page(
        self,
        rows: EntityRows[T],
        stmt: Select[Any],
        table: Table,
        where: Sequence[Condition],
        page: int,
        per_page: int,
        *,
        lock: bool = False,
    ) -> tuple[list[T], int]:
        """One page of ``stmt`` (already filtered and ordered) and the exact total;
        ``lock``: the page's rows, as ``_all`` says."""
        page_of = stmt.limit(per_page).offset((page - 1) * per_page)
        items = await self._all(rows, page_of, lock=lock)
        return items, await self._count(table, where)

    async def _listed(
        self,
        statements: PagedStatements,
        params: dict[str, Any],
        page: int,
        per_page: int,
        *,
        lock: bool = False,
    ) -> tuple[list[Any], int]:
        """One page of a list built once (``listings``) and its total; ``lock``: the
        page's rows, as ``_all`` says."""
        values = {**params, **page_values(page, per_page)}
        stmt = statements.locked if lock else statements.page
        items = statements.rows.many(await self.session.execute(stmt, values))
        if lock:
            for entity in items:
                self._remember(table_of(type(entity)), values_of(entity))
        return items, int(await self.session.scalar(statements.count, params) or 0)

    async def _update_row(
        self,
        table: Table,
        entity: Any,
        where: tuple[str, ...],
        values: dict[str, Any] | None = None,
        *,
        kept: tuple[str, ...] = (),
        **extra: Any,
    ) -> int:
        """Write the fields of ``entity`` (and ``extra``) to the row whose ``where``
        columns equal the entity's fields; rows matched. Of a row read by key in this
        unit of work, only the fields changed since (the class says why); an entity
        with no change and no ``extra`` writes nothing (the row was read: 1).
        ``values``: ``values_of(entity)`` when the caller has them. ``kept``: fields
        which, where this write leaves them as read, the row must still hold as read
        (PostgreSQL), else nothing is written (0)."""
        if values is None:
            values = values_of(entity)
        params = {_WHERE + key: values[key] for key in where}
        key = tuple(values[c.name] for c in table.primary_key)
        before = self._read.get((table, key))
        if kept and before is not None:
            kept = tuple(name for name in kept if before[name] == values[name])
            params.update({_WAS + name: before[name] for name in kept})
        else:
            kept = ()
        changed = self._changes(table, before, values)
        if not changed and not extra:
            return 1
        stmt = _update_of(table, where, kept)
        result = await self.session.execute(stmt, {**changed, **extra, **params})
        return cast("CursorResult[Any]", result).rowcount

    def _changes(
        self, table: Table, before: dict[str, Any] | None, values: dict[str, Any]
    ) -> dict[str, Any]:
        """The fields of ``values`` to write: those changed since ``before`` (the row as
        this unit of work read it; every field when it did not), never the primary key;
        ``values`` is remembered as the row now is."""
        self._remember(table, values)
        if before is not None:
            changed = {k: v for k, v in values.items() if k not in before or before[k] != v}
        else:
            changed = dict(values)
        for column in table.primary_key:
            changed.pop(column.name, None)
        return changed

    async def _update_rows(
        self, table: Table, entities: Sequence[Any], where: tuple[str, ...]
    ) -> None:
        """``_update_row`` of each of ``entities``, those that change the same fields
        in one statement with a parameter set each (the driver's ``executemany``)."""
        sets: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for entity in entities:
            values = values_of(entity)
            key = tuple(values[c.name] for c in table.primary_key)
            changed = self._changes(table, self._read.get((table, key)), values)
            if changed:
                params = {**changed, **{_WHERE + name: values[name] for name in where}}
                sets.setdefault(tuple(sorted(changed)), []).append(params)
        for group in sets.values():
            await self.session.execute(_update_of(table, where), group)

    async def _rowcount(self, stmt: Executable) -> int:
        result = cast("CursorResult[Any]", await self.session.execute(stmt))
        return result.rowcount

    def _insert(self, table: Table) -> Any:
        """The dialect's INSERT, which knows ``ON CONFLICT DO NOTHING``."""
        return dialect_insert(self.dialect, table)
