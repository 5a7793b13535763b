"""What every repository shares: one session, rows made entities, paging."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Table, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.sql import Executable, Select
from sqlalchemy.sql.dml import ReturningInsert, ReturningUpdate

from ..queries import Condition
from ..rows import EntityRows, table_of, values_of
from ..session import Session

__all__ = ["Repository"]

T = TypeVar("T")


class Repository:
    """Base of the repositories of one unit of work.

    Entities are plain values: what a repository hands out is the caller's to mutate,
    and only an explicit ``add`` or ``update`` writes.
    """

    def __init__(self, session: Session, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    async def _add(self, entity: T, **private: Any) -> T:
        """INSERT the entity's row (with ``private`` columns, not entity fields); a
        ``0`` id becomes the id the database assigns, set on ``entity``."""
        table = table_of(type(entity))
        values = {**values_of(entity), **private}
        if values.get("id") == 0:
            del values["id"]
            stmt = insert(table).values(values).returning(table.c.id)
            entity.id = int(await self.session.scalar(stmt) or 0)  # type: ignore[attr-defined]
        else:
            await self.session.execute(insert(table).values(values))
        return entity

    async def _all(self, rows: EntityRows[T], stmt: Select[Any]) -> list[T]:
        """The entities of ``stmt`` (a select of ``rows.columns``)."""
        return rows.many(await self.session.execute(stmt))

    async def _first(self, rows: EntityRows[T], stmt: Select[Any]) -> T | None:
        row = (await self.session.execute(stmt)).first()
        return None if row is None else rows.one(row)

    async def _returned(
        self, rows: EntityRows[T], stmt: ReturningInsert[Any] | ReturningUpdate[Any]
    ) -> T | None:
        """The entity a DML ``… RETURNING rows.columns`` statement gave back, if any."""
        row = (await self.session.execute(stmt)).first()
        return None if row is None else rows.one(row)

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
    ) -> tuple[list[T], int]:
        """One page of ``stmt`` (already filtered and ordered) and the exact total."""
        items = await self._all(rows, stmt.limit(per_page).offset((page - 1) * per_page))
        return items, await self._count(table, where)

    async def _update_row(
        self, table: Table, entity: Any, *where: ColumnElement[bool], **extra: Any
    ) -> int:
        """Write every field of ``entity`` (and ``extra``) to its row; rows matched."""
        keys = {column.name for column in table.primary_key}
        values = {k: v for k, v in values_of(entity).items() if k not in keys}
        stmt = update(table).where(*where).values({**values, **extra})
        return await self._rowcount(stmt)

    async def _rowcount(self, stmt: Executable) -> int:
        result = cast("CursorResult[Any]", await self.session.execute(stmt))
        return result.rowcount

    def _insert(self, table: Table) -> Any:
        """The dialect's INSERT, which knows ``ON CONFLICT DO NOTHING``."""
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return dialect_insert(table)
