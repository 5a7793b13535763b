"""The gallery: read, filter, metadata, favourite, trash, bulk and purge."""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime

from attrs import define, field

from ..errors import Conflict, Invalid, NotFound, Unavailable
from ..models import Actor, Image, Page, ProcessingStatus, Share
from ..ports import ImageQuery, SimilarQuery, UnitOfWork, no_transaction, one_statement
from ..reads import reads_of
from ..rules import bulk, renditions, search, text, trash, tree
from ..rules.limits import BULK_MAX, ID_MAX, PER_PAGE_DEFAULT, TOTAL_COUNT_LIMIT
from ..rules.similar import DEFAULT_DISTANCE, MAX_DISTANCE
from .deps import Deps
from .resolved import ResolvedShares
from .views import ImageDetail, ImageView, VariantView, image_views, rendition_views

#: reads of an image and its tree before ``lock_tree`` gives up (each new one: it moved)
_MOVES = 3


@define(frozen=True)
class SimilarView:
    view: ImageView
    #: how many of the 64 hash bits differ from the asked-about image's
    distance: int


@define(frozen=True)
class ImagePatch:
    title: str | None = None
    clear_title: bool = False
    tags: list[str] | None = None


@define(frozen=True)
class BulkDeleteResult:
    deleted: list[int] = field(factory=list)
    already_in_trash: list[int] = field(factory=list)
    not_found: list[int] = field(factory=list)


@define(frozen=True)
class BulkRestoreResult:
    restored: list[int] = field(factory=list)
    not_in_trash: list[int] = field(factory=list)
    not_found: list[int] = field(factory=list)


async def get_image(
    uow: UnitOfWork, actor: Actor, image_id: int, *, for_update: bool = False
) -> Image:
    """The actor's image; ``NotFound`` for any other id, one past what storage can hold
    (an embedding app's route may not bound it) included. ``for_update``: see
    ``ImageRepository.get``."""
    if not 0 < image_id <= ID_MAX:
        raise NotFound("image")
    image = await uow.images.get(actor.team_id, image_id, for_update=for_update)
    if image is None:
        raise NotFound("image")
    return image


async def shown_image(
    uow: UnitOfWork, actor: Actor, image_id: int, now: datetime, *, for_update: bool = False
) -> tuple[Image, dict[int, Share]]:
    """``get_image`` with its active share (``ImageRepository.get_shown``), as
    ``image_views`` takes it."""
    if not 0 < image_id <= ID_MAX:
        raise NotFound("image")
    found = await uow.images.get_shown(actor.team_id, image_id, now, for_update=for_update)
    if found is None:
        raise NotFound("image")
    image, share = found
    return image, ({image.id: share} if share is not None else {})


def check_ready(image: Image, use: str) -> None:
    """``image`` is drawn, so it can be ``use``d (shared, edited); else ``409
    image_not_ready``, whose message tells a failed image (it never will be) from one
    still queued or being drawn."""
    if image.processing_status is ProcessingStatus.READY:
        return
    if image.processing_status is ProcessingStatus.FAILED:
        raise Conflict(
            f"the image failed to generate, so it cannot be {use}: generate it again",
            code="image_not_ready",
        )
    raise Conflict("the image is not ready yet", code="image_not_ready")


async def lock_tree(uow: UnitOfWork, image: Image) -> tuple[Image, builtins.list[Image]] | None:
    """``image`` as it is now and its whole variant tree, read for update (in id
    order: every unit of work locking several images does, so none waits for another
    in a circle); None when it is gone. ``image`` may be stale: when it is not in the
    tree it was read with (moved to another while the lock was awaited, its root
    deleted for good), it is read again."""
    current: Image | None = image
    for _ in range(_MOVES):
        if current is None:
            return None
        family = await uow.images.tree(current.team_id, current.tree_root, for_update=True)
        locked = next((i for i in family if i.id == image.id), None)
        if locked is not None:
            return locked, family
        current = await uow.images.get(image.team_id, image.id)
    raise Unavailable("the image's variant tree keeps changing; try again")


class Gallery:
    def __init__(self, deps: Deps, resolved: ResolvedShares | None = None) -> None:
        self.deps = deps
        #: shares resolved by this process's public side, forgotten when an image goes
        self.resolved = resolved if resolved is not None else ResolvedShares()

    async def list(self, actor: Actor, query: ImageQuery) -> Page[ImageView]:
        """One page of the team's images. The total is exact up to
        ``TOTAL_COUNT_LIMIT`` matches past the page's offset, a lower bound beyond.
        A ``q`` with no word in it (only symbols) matches nothing."""
        if query.team_id != actor.team_id:
            raise NotFound("team")
        if search.finds_nothing(query.q):
            return Page([], query.page, query.per_page, 0)
        limit = (query.page - 1) * query.per_page + TOTAL_COUNT_LIMIT
        found = await reads_of(self.deps.storage).image_listing(query, self.deps.clock.now(), limit)
        views = image_views(self.deps, found.images, found.shares)
        return Page(views, query.page, query.per_page, found.total, found.total_exact)

    async def similar(
        self,
        actor: Actor,
        image_id: int,
        max_distance: int = DEFAULT_DISTANCE,
        page: int = 1,
        per_page: int = PER_PAGE_DEFAULT,
    ) -> Page[SimilarView]:
        """The team's live, ready images whose perceptual hash is within
        ``max_distance`` bits of this image's, closest first (the image itself left
        out; none while it has no hash yet)."""
        if not 0 <= max_distance <= MAX_DISTANCE:
            raise Invalid(
                f"max_distance must be from 0 to {MAX_DISTANCE}",
                details={"max_distance": "out of range"},
            )
        if not 0 < image_id <= ID_MAX:
            raise NotFound("image")
        # every hash of the team compared, at a wide distance: the read port's
        query = SimilarQuery(actor.team_id, image_id, max_distance, page, per_page)
        found = await reads_of(self.deps.storage).similar_listing(query, self.deps.clock.now())
        if found is None:
            raise NotFound("image")
        views = image_views(self.deps, [i for i, _ in found.near], found.shares)
        near = [SimilarView(v, d) for v, (_, d) in zip(views, found.near, strict=True)]
        return Page(near, page, per_page, found.total)

    async def trash(
        self, actor: Actor, page: int = 1, per_page: int = PER_PAGE_DEFAULT
    ) -> Page[ImageView]:
        found = await reads_of(self.deps.storage).trash_listing(
            actor.team_id, page, per_page, self.deps.clock.now()
        )
        return Page(image_views(self.deps, found.images, found.shares), page, per_page, found.total)

    async def get(self, actor: Actor, image_id: int) -> ImageView:
        async with self.deps.storage.unit_of_work() as uow:
            image, shares = await shown_image(uow, actor, image_id, self.deps.clock.now())
        return image_views(self.deps, [image], shares)[0]

    async def detail(self, actor: Actor, image_id: int) -> ImageDetail:
        family = await reads_of(self.deps.storage).image_family(
            actor.team_id, image_id, self.deps.clock.now()
        )
        if family is None:
            raise NotFound("image")
        image = family.image
        below = tree.descendants(family.tree, image.id)
        above = tree.ancestors(family.tree, image)
        shown = image_views(self.deps, [image, *[v.image for v in below], *above], family.shares)
        by_id = {view.image.id: view for view in shown}
        return ImageDetail(
            view=by_id[image.id],
            variants=[VariantView(by_id[v.image.id], v.depth) for v in below],
            parents=[by_id[a.id] for a in above],
            renditions=rendition_views(self.deps, image),
        )

    async def update(self, actor: Actor, image_id: int, patch: ImagePatch) -> ImageView:
        now = self.deps.clock.now()
        tags = text.normalize_tags(patch.tags) if patch.tags is not None else None
        title = text.title(patch.title) if patch.title is not None else None
        # A change of tags reads the row locked: its tag rows are written from what it
        # read (``live`` from the trash state too), so nothing may change in between.
        # Without tags the row alone is written, its one write checked against the
        # read instead of the row locked between them; changed meanwhile, it is read
        # again, locked.
        for locked in (False, True) if tags is None else (True,):
            async with self.deps.storage.unit_of_work() as uow:
                if not locked:
                    no_transaction(uow)
                image, shares = await shown_image(uow, actor, image_id, now, for_update=locked)
                if patch.clear_title or title is not None:
                    image.title = title
                if tags is not None:
                    image.tags = tags
                image.updated_at = now
                if await uow.images.update(image, tags=tags is not None, unlocked=not locked):
                    await uow.commit()
                    return image_views(self.deps, [image], shares)[0]
        raise Unavailable("the image keeps changing; try again")

    async def toggle_favorite(self, actor: Actor, image_id: int) -> bool:
        """One statement: flip the flag where the row is (no read first); the new flag."""
        if not 0 < image_id <= ID_MAX:
            raise NotFound("image")
        async with self.deps.storage.unit_of_work() as uow:
            one_statement(uow)
            flag = await uow.images.toggle_favorite(actor.team_id, image_id, self.deps.clock.now())
            if flag is None:
                raise NotFound("image")
            await uow.commit()
        return flag

    async def delete(self, actor: Actor, image_id: int) -> Image:
        """Soft delete; again on a trashed image gives the same answer."""
        async with self.deps.storage.unit_of_work() as uow:
            image = await get_image(uow, actor, image_id, for_update=True)
            if trash.soft_delete(image, self.deps.clock.now()):
                await uow.images.update(image, tags=False)
                await uow.commit()
        self.resolved.forget_images((image.id,))
        return image

    async def restore(self, actor: Actor, image_id: int) -> ImageView:
        now = self.deps.clock.now()
        async with self.deps.storage.unit_of_work() as uow:
            image, shares = await shown_image(uow, actor, image_id, now, for_update=True)
            trash.restore(image, now)
            await uow.images.update(image, tags=False)
            await uow.commit()
        return image_views(self.deps, [image], shares)[0]

    async def delete_forever(self, actor: Actor, image_id: int) -> None:
        async with self.deps.storage.unit_of_work() as uow:
            image = await get_image(uow, actor, image_id)
            trash.check_forever(image)
            gone = await _hard_delete(uow, image, self.deps.clock.now(), trash.check_forever)
            if gone is None:  # deleted meanwhile by another call: one of them is the 204
                raise NotFound("image")
            await uow.commit()
        self.resolved.forget_images((image.id,))
        await self._drop_blobs([gone])  # the keys of the row as it was deleted

    async def bulk_delete(self, actor: Actor, ids: Sequence[int]) -> BulkDeleteResult:
        def sort(image: Image, now: datetime) -> str:
            return "deleted" if trash.soft_delete(image, now) else "already_in_trash"

        found = await self._bulk(actor, ids, sort, changed="deleted")
        self.resolved.forget_images(found["deleted"])
        return BulkDeleteResult(found["deleted"], found["already_in_trash"], found["not_found"])

    async def bulk_restore(self, actor: Actor, ids: Sequence[int]) -> BulkRestoreResult:
        def sort(image: Image, now: datetime) -> str:
            if image.deleted_at is None:
                return "not_in_trash"
            trash.restore(image, now)
            return "restored"

        found = await self._bulk(actor, ids, sort, changed="restored")
        return BulkRestoreResult(found["restored"], found["not_in_trash"], found["not_found"])

    async def _bulk(
        self,
        actor: Actor,
        ids: Sequence[int],
        sort: Callable[[Image, datetime], str],
        *,
        changed: str,
    ) -> defaultdict[str, builtins.list[int]]:
        """Apply ``sort`` to each of the team's images in one transaction; ids by outcome.

        The limit is checked before anything is read, so a rejected call changes nothing.
        """
        wanted = bulk.check_ids(ids, BULK_MAX)
        outcomes: defaultdict[str, builtins.list[int]] = defaultdict(list)
        now = self.deps.clock.now()
        async with self.deps.storage.unit_of_work() as uow:
            locked = await uow.images.get_many(actor.team_id, wanted, for_update=True)
            found = {i.id: i for i in locked}
            moved: builtins.list[Image] = []
            for image_id in wanted:
                image = found.get(image_id)
                outcome = "not_found" if image is None else sort(image, now)
                if image is not None and outcome == changed:
                    moved.append(image)
                outcomes[outcome].append(image_id)
            if moved:  # every moved image got the same dates from ``sort``: one statement
                first = moved[0]
                ids = [i.id for i in moved]
                await uow.images.set_trash(
                    actor.team_id, ids, first.deleted_at, first.purge_at, first.updated_at
                )
            await uow.commit()
        return outcomes

    async def purge(self, now: datetime | None = None, batch: int = 100) -> int:
        """Delete for good every image whose time in the trash is up; how many went.

        Each in a unit of work of its own, checked again once its tree is locked (one
        restored meanwhile stays): a batch locking tree after tree could wait in a
        circle with a bulk call locking the same ids in id order."""
        now = now or self.deps.clock.now()
        purged = 0
        while True:
            async with self.deps.storage.unit_of_work() as uow:
                due = await uow.images.due_for_purge(now, batch)
            gone: builtins.list[Image] = []
            for image in due:
                try:
                    async with self.deps.storage.unit_of_work() as uow:
                        deleted = await _hard_delete(uow, image, now, _due(now))
                        await uow.commit()
                except _NotDue:
                    continue
                if deleted is not None:
                    gone.append(deleted)
            self.resolved.forget_images(image.id for image in gone)
            await self._drop_blobs(gone)
            purged += len(gone)
            if len(due) < batch:
                return purged

    async def _drop_blobs(self, images: Sequence[Image]) -> None:
        """After the rows are gone: a crash here leaves an orphan blob, never a dangling row."""
        for key in sorted(renditions.blob_keys(images)):
            await self.deps.blobs.delete(key)


class _NotDue(Exception):
    """A purge's image is no longer due (restored meanwhile): it stays."""


def _due(now: datetime) -> Callable[[Image], None]:
    def check(image: Image) -> None:
        if not trash.purge_due(image, now):
            raise _NotDue

    return check


async def _hard_delete(
    uow: UnitOfWork, image: Image, now: datetime, check: Callable[[Image], None]
) -> Image | None:
    """Delete ``image`` for good, re-attaching its variants first; the row as deleted,
    or None when it was gone already. ``check`` refuses (raises) on the row as it is
    once locked.

    The row is read again with its tree (``lock_tree``): a concurrent delete may have
    moved it to another tree.
    """
    found = await lock_tree(uow, image)
    if found is None:
        return None
    current, family = found
    check(current)
    for moved in tree.detach_for_delete(family, current, now):
        await uow.images.update(moved, tags=False)
    await uow.images.delete(current.team_id, current.id)
    return current
