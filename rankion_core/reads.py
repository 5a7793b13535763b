"""``GalleryReads`` answered through ordinary units of work: any backend's default.

The memory backend and plug-ins use it as is; the SQL backend answers the same
questions on a read-only connection (``rankion_sqlalchemy.reads``). Totals here are
always exact: ``count_limit`` is a permission to stop counting, not an obligation.
"""

from __future__ import annotations

from datetime import datetime

from .ports import GalleryReads, ImageFamily, ImageListing, ImageQuery, Storage
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


def reads_of(storage: Storage) -> GalleryReads:
    """``storage.reads()``; a storage written before that method existed (a plug-in
    of an earlier release) is read through its units of work."""
    reads = getattr(storage, "reads", None)
    return reads() if callable(reads) else UnitOfWorkReads(storage)
