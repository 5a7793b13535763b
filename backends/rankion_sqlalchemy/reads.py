"""``GalleryReads`` of the SQL backend: which implementation answers, and the
unit-of-work one with bounded totals.

SQLite files get ``SqliteReads`` (the stdlib driver), PostgreSQL ``PgReads``
(asyncpg); what is left (in-memory SQLite) answers through a unit of work, counting a
filtered total only up to the caller's limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, cast

from sqlalchemy.engine import URL

from rankion_core.ports import ImageListing, ImageQuery
from rankion_core.reads import UnitOfWorkReads

from .repositories import ImageRepo

if TYPE_CHECKING:
    from .storage import SqlStorage

__all__ = ["SqlReads", "sqlite_file"]


def sqlite_file(url: URL) -> str | None:
    """The database file of a SQLite URL (None: not SQLite, or in memory)."""
    if url.get_backend_name() != "sqlite":
        return None
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:") or url.query:
        return None
    return database


class SqlReads(UnitOfWorkReads):
    def __init__(self, storage: SqlStorage) -> None:
        super().__init__(storage)
        self.sql = storage

    async def image_listing(
        self, query: ImageQuery, now: datetime, count_limit: int
    ) -> ImageListing:
        async with self.sql.unit_of_work() as uow:
            repo = cast("ImageRepo", uow.images)
            images, total, exact = await repo.list_counted(query, count_limit)
            shares = await uow.shares.active_for_images(query.team_id, [i.id for i in images], now)
        return ImageListing(images=images, total=total, total_exact=exact, shares=shares)
