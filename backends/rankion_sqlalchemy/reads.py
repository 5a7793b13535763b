"""``Reads`` of the SQL backend: which implementation answers, and the
unit-of-work one with bounded totals.

SQLite files get ``SqliteReads`` (the stdlib driver), PostgreSQL ``PgReads``
(asyncpg); what is left (in-memory SQLite) answers through a unit of work, counting a
filtered total only up to the caller's limit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import cast

from rankion_core.ports import ImageListing, ImageQuery, Storage
from rankion_core.reads import UnitOfWorkReads

from .repositories import ImageRepo
from .uow import SqlUnitOfWork

__all__ = ["SqlReads"]


class SqlReads(UnitOfWorkReads):
    def __init__(self, storage: Storage, units: Callable[[], SqlUnitOfWork]) -> None:
        super().__init__(storage)
        self.units = units

    async def image_listing(
        self, query: ImageQuery, now: datetime, count_limit: int
    ) -> ImageListing:
        async with self.units() as uow:
            repo = cast("ImageRepo", uow.images)
            images, total, exact = await repo.list_counted(query, count_limit)
            shares = await uow.shares.active_for_images(query.team_id, [i.id for i in images], now)
        return ImageListing(images=images, total=total, total_exact=exact, shares=shares)
