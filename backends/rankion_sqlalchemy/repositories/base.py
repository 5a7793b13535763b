"""What every repository shares: one session, loading detached copies, paging."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Executable, Select
from sqlalchemy.sql.selectable import ExecutableReturnsRows

from ..mapping import values_of
from ..queries import Condition

__all__ = ["Repository"]

T = TypeVar("T")


class Repository:
    """Base of the repositories of one unit of work.

    Entities are handed out *detached*: the caller may mutate them freely and only an
    explicit ``update`` writes (no autoflush or commit ever stores a stray change).
    """

    def __init__(self, session: AsyncSession, dialect: str) -> None:
        self.session = session
        self.dialect = dialect

    async def _add(self, entity: T) -> T:
        """INSERT through the ORM; a ``0`` id becomes the id the database assigns."""
        if getattr(entity, "id", None) == 0:
            entity.id = None  # type: ignore[attr-defined]
        self.session.add(entity)
        await self.session.flush()
        self.session.expunge(entity)
        return entity

    async def _all(self, stmt: Select[T]) -> list[T]:
        items = list((await self.session.scalars(stmt)).all())
        for item in items:
            self.session.expunge(item)
        return items

    async def _first(self, stmt: Select[T]) -> T | None:
        items = await self._all(stmt)
        return items[0] if items else None

    async def _returned(self, entity: type[T], stmt: ExecutableReturnsRows) -> T | None:
        """The entity a DML ``… RETURNING`` statement gave back, if any."""
        loaded = await self.session.scalars(select(entity).from_statement(stmt))
        item = loaded.first()
        if item is not None:
            self.session.expunge(item)
        return item

    async def _count(self, table: Table, where: Sequence[Condition]) -> int:
        stmt = select(func.count()).select_from(table).where(*where)
        return int(await self.session.scalar(stmt) or 0)

    async def _page(
        self,
        stmt: Select[T],
        table: Table,
        where: Sequence[Condition],
        page: int,
        per_page: int,
    ) -> tuple[list[T], int]:
        """One page of ``stmt`` (already filtered and ordered) and the exact total."""
        items = await self._all(stmt.limit(per_page).offset((page - 1) * per_page))
        return items, await self._count(table, where)

    async def _update_row(
        self, table: Table, entity: Any, *where: ColumnElement[bool], **extra: Any
    ) -> int:
        """Write every mapped column of ``entity`` (and ``extra``) to its row; rows matched."""
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
