"""``Reads`` answered through ordinary units of work: any backend's default.

The memory backend, PostgreSQL's units of work and plug-ins use it as is; the SQL
backend answers the same questions on read-only connections of its own
(``rankion_sqlalchemy.sqlite_reads``, ``rankion_sqlalchemy.pg_reads``). Totals here
are always exact: ``count_limit`` is a permission to stop counting, not an obligation.
"""

from __future__ import annotations

import builtins
from datetime import date, datetime

from .models import CalendarEvent, EventStatus, LedgerEntry
from .ports import (
    DayQuery,
    EventQuery,
    ImageFamily,
    ImageListing,
    ImageQuery,
    Reads,
    SimilarListing,
    SimilarQuery,
    Storage,
)
from .rules.search import words

__all__ = [
    "IMAGE_FILTERS",
    "MATCH_FILTERS",
    "UnitOfWorkReads",
    "active_filters",
    "reads_of",
]

#: The gallery's filters: the fields of ``ImageQuery`` that narrow a list. Every
#: backend answers each of them, keyed by these names (the SQL backend's
#: ``queries.FILTERS``, the memory backend's ``IMAGE_TESTS``); a new filter is a field
#: of ``ImageQuery`` and a name here.
IMAGE_FILTERS = (
    "model",
    "created_from",
    "created_to",
    "favorite",
    "project_id",
    "statuses",
    "tags",
    "q",
)
#: Those of them that match words of an image (its tags, its text): a backend may
#: plan these differently from the others.
MATCH_FILTERS = ("tags", "q")


def active_filters(query: ImageQuery) -> tuple[str, ...]:
    """The names of the filters ``query`` sets, in ``IMAGE_FILTERS`` order (a ``q``
    without words sets none here; ``Gallery.list`` answers a ``q`` that
    ``rules.search.finds_nothing`` with an empty page before storage is asked)."""
    found = [n for n in IMAGE_FILTERS if getattr(query, n) not in (None, ())]
    if "q" in found and not words(query.q or ""):
        found.remove("q")
    return tuple(found)


class UnitOfWorkReads:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    async def image_listing(
        self, query: ImageQuery, now: datetime, count_limit: int
    ) -> ImageListing:
        async with self.storage.unit_of_work() as uow:
            images, total = await uow.images.list(query)
            shares = await uow.shares.active_for_images(query.team_id, [i.id for i in images], now)
        return ImageListing(images=images, total=total, total_exact=True, shares=shares)

    async def image_family(self, team_id: int, image_id: int, now: datetime) -> ImageFamily | None:
        async with self.storage.unit_of_work() as uow:
            image = await uow.images.get(team_id, image_id)
            if image is None:
                return None
            tree = await uow.images.tree(team_id, image.tree_root)
            shares = await uow.shares.active_for_images(team_id, [i.id for i in tree], now)
        return ImageFamily(image=image, tree=tree, shares=shares)

    async def event_page(
        self, query: EventQuery, *, count_limit: int | None = None
    ) -> tuple[builtins.list[CalendarEvent], int]:
        async with self.storage.unit_of_work() as uow:
            return await uow.events.list(query, count_limit=count_limit)

    async def day_counts(self, query: DayQuery) -> builtins.list[tuple[date, EventStatus, int]]:
        async with self.storage.unit_of_work() as uow:
            return await uow.events.day_counts(query)

    async def ledger_page(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[LedgerEntry], int]:
        async with self.storage.unit_of_work() as uow:
            return await uow.ledger.list(team_id, page, per_page)

    async def trash_listing(
        self, team_id: int, page: int, per_page: int, now: datetime
    ) -> ImageListing:
        async with self.storage.unit_of_work() as uow:
            images, total = await uow.images.list_trash(team_id, page, per_page)
            shares = await uow.shares.active_for_images(team_id, [i.id for i in images], now)
        return ImageListing(images=images, total=total, total_exact=True, shares=shares)

    async def similar_listing(self, query: SimilarQuery, now: datetime) -> SimilarListing | None:
        team_id = query.team_id
        async with self.storage.unit_of_work() as uow:
            image = await uow.images.get(team_id, query.image_id)
            if image is None:
                return None
            if image.phash is None:
                return SimilarListing(image=image, near=[], total=0, shares={})
            near, total = await uow.images.similar(
                team_id, image.phash, query.max_distance, image.id, query.page, query.per_page
            )
            shares = await uow.shares.active_for_images(team_id, [i.id for i, _ in near], now)
        return SimilarListing(image=image, near=near, total=total, shares=shares)


def reads_of(storage: Storage) -> Reads:
    """``storage.reads()``; a storage written before that method existed (a plug-in
    of an earlier release) is read through its units of work."""
    reads = getattr(storage, "reads", None)
    return reads() if callable(reads) else UnitOfWorkReads(storage)
