"""Public shares of an image, and the public side that resolves and counts them.

The public side is built for a share that goes viral: a resolved token is kept for at
most ``LOOKUP_SECONDS`` per process (a revocation in this process drops it at once,
elsewhere it reaches the page within that time), and views are counted in memory and
written in batches by ``flush_views`` — the server calls it every ``FLUSH_SECONDS`` and
once more when it stops. A process killed with ``kill -9`` loses the views it had not
yet written: at most the last second's.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from ..errors import Conflict, NotFound
from ..models import Actor
from ..rules import shares as rules
from ..rules.limits import SHARE_TOKEN_MAX, SHARE_TOKEN_MIN
from ..rules.timeutil import ensure_utc
from ..rules.tokens import url_safe
from .deps import Deps
from .gallery import check_ready, get_image
from .resolved import ResolvedShares, SharedImage
from .views import ShareView, share_view

#: how often counted views are written (the contract: visible within 2 s)
FLUSH_SECONDS = 1.0


class ViewTally:
    """Views counted since the last write, per ``(share id, image id)``."""

    def __init__(self) -> None:
        self._counts: dict[tuple[int, int], int] = {}

    def add(self, share_id: int, image_id: int, views: int = 1) -> None:
        key = (share_id, image_id)
        self._counts[key] = self._counts.get(key, 0) + views

    def drain(self) -> dict[tuple[int, int], int]:
        counts, self._counts = self._counts, {}
        return counts

    def restore(self, counts: dict[tuple[int, int], int]) -> None:
        """Put back views whose write failed, so the next flush writes them."""
        for (share_id, image_id), views in counts.items():
            self.add(share_id, image_id, views)

    def pending(self) -> int:
        return sum(self._counts.values())


class Shares:
    def __init__(self, deps: Deps, resolved: ResolvedShares | None = None) -> None:
        self.deps = deps
        self.tally = ViewTally()
        self.resolved = resolved if resolved is not None else ResolvedShares()
        #: lookups under way, by token: the views that miss the cache at the same time
        #: (every second, all of a viral share's) wait for one lookup, not one each
        self._resolving: dict[str, asyncio.Future[SharedImage]] = {}

    async def share(
        self,
        actor: Actor,
        image_id: int,
        expires_at: datetime | None = None,
        *,
        set_expiry: bool = False,
    ) -> tuple[ShareView, bool]:
        """The active share (``created`` False) or a new one (True). ``set_expiry``
        applies ``expires_at`` to an existing share as well."""
        now = self.deps.clock.now()
        expiry = (
            rules.check_expiry(ensure_utc(expires_at, "expires_at"), now) if expires_at else None
        )
        async with self.deps.storage.unit_of_work() as uow:
            # the image locked: concurrent calls make one share, not one each
            image = await get_image(uow, actor, image_id, for_update=True)
            if image.deleted_at is not None:
                raise Conflict("the image is in the trash", code="image_in_trash")
            check_ready(image, "shared")
            share = await uow.shares.active_for_image(actor.team_id, image_id, now)
            created = share is None
            if share is None:
                share = rules.new_share(
                    team_id=actor.team_id, image_id=image_id, now=now, expires_at=expiry
                )
                await uow.shares.add(share)
            elif set_expiry:
                share.expires_at = expiry
                await uow.shares.update(share)
            await uow.commit()
        return share_view(self.deps, share), created

    async def set_expiry(
        self, actor: Actor, image_id: int, expires_at: datetime | None
    ) -> ShareView:
        now = self.deps.clock.now()
        expiry = (
            rules.check_expiry(ensure_utc(expires_at, "expires_at"), now) if expires_at else None
        )
        async with self.deps.storage.unit_of_work() as uow:
            await get_image(uow, actor, image_id, for_update=True)
            share = await uow.shares.active_for_image(actor.team_id, image_id, now)
            if share is None:
                raise NotFound("share")
            share.expires_at = expiry
            await uow.shares.update(share)
            await uow.commit()
        return share_view(self.deps, share)

    async def revoke(self, actor: Actor, image_id: int) -> None:
        now = self.deps.clock.now()
        async with self.deps.storage.unit_of_work() as uow:
            await get_image(uow, actor, image_id, for_update=True)
            share = await uow.shares.active_for_image(actor.team_id, image_id, now)
            if share is None:
                raise NotFound("share")
            # every active one: stores written before shares were made under the
            # image's lock may hold several
            while share is not None:
                rules.revoke(share, now)
                await uow.shares.update(share)
                share = await uow.shares.active_for_image(actor.team_id, image_id, now)
            await uow.commit()
        self.resolved.forget_images((image_id,))

    async def view(self, token: str, *, count: bool = True) -> SharedImage:
        """The public side: resolve ``token`` and count a view. Unknown, revoked,
        expired, trashed or not ready all raise the same ``NotFound``."""
        now = self.deps.clock.now()
        shared = self.resolved.get(token, now)
        if shared is None:
            shared = await self._resolve_once(token, now)
        if count:
            self.tally.add(shared.share.id, shared.image.id)
        return shared

    async def _resolve_once(self, token: str, now: datetime) -> SharedImage:
        """``_resolve`` in a task of its own, shared by every view of ``token`` that
        asks while it runs (a view that goes away does not cancel it for the others)."""
        lookup = self._resolving.get(token)
        if lookup is None:
            lookup = asyncio.ensure_future(self._resolve(token, now))
            self._resolving[token] = lookup
            lookup.add_done_callback(lambda done: self._resolved(token, now, done))
        return await asyncio.shield(lookup)

    def _resolved(self, token: str, now: datetime, lookup: asyncio.Future[SharedImage]) -> None:
        del self._resolving[token]
        if not lookup.cancelled() and lookup.exception() is None:
            self.resolved.keep(token, now, lookup.result())

    async def _resolve(self, token: str, now: datetime) -> SharedImage:
        async with self.deps.storage.unit_of_work() as uow:
            share = await uow.shares.get_by_token(token) if _plausible(token) else None
            image = await uow.images.get(share.team_id, share.image_id) if share else None
        if (
            share is None
            or image is None
            or not rules.is_active(share, now)
            or image.deleted_at is not None
            or image.blob_key is None
        ):
            raise NotFound("share")
        return SharedImage(share, image)

    async def flush_views(self) -> int:
        """Write the views counted so far, one ``+ n`` per share, in one transaction;
        how many were written. On a failure they stay counted for the next flush."""
        counts = self.tally.drain()
        if not counts:
            return 0
        try:
            async with self.deps.storage.unit_of_work() as uow:
                # by image id, as every unit of work locking several images does
                for (share_id, image_id), views in sorted(counts.items(), key=_by_image):
                    await uow.shares.add_views(share_id, image_id, views)
                await uow.commit()
        except BaseException:
            self.tally.restore(counts)
            raise
        return sum(counts.values())


def _by_image(item: tuple[tuple[int, int], int]) -> tuple[int, int]:
    (share_id, image_id), _ = item
    return image_id, share_id


def _plausible(token: str) -> bool:
    return url_safe(token, SHARE_TOKEN_MIN, SHARE_TOKEN_MAX)
