"""Public shares of an image, and the public side that resolves and counts them."""

from __future__ import annotations

from datetime import datetime

from attrs import define

from ..errors import Conflict, NotFound
from ..models import Actor, Image, ProcessingStatus, Share
from ..rules import shares as rules
from ..rules.timeutil import ensure_utc
from .deps import Deps
from .gallery import get_image
from .views import ShareView, share_view


@define(frozen=True)
class SharedImage:
    share: Share
    image: Image


class Shares:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

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
            image = await get_image(uow, actor, image_id)
            if image.deleted_at is not None:
                raise Conflict("the image is in the trash", code="image_in_trash")
            if image.processing_status is not ProcessingStatus.READY:
                raise Conflict("the image is not ready yet", code="image_not_ready")
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
            await get_image(uow, actor, image_id)
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
            await get_image(uow, actor, image_id)
            share = await uow.shares.active_for_image(actor.team_id, image_id, now)
            if share is None:
                raise NotFound("share")
            rules.revoke(share, now)
            await uow.shares.update(share)
            await uow.commit()

    async def view(self, token: str, *, count: bool = True) -> SharedImage:
        """The public side: resolve ``token`` and count a view. Unknown, revoked,
        expired, trashed or not ready all raise the same ``NotFound``."""
        now = self.deps.clock.now()
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
            if count:
                share.view_count = await uow.shares.count_view(share.id, image.id)
                image.share_views += 1
                await uow.commit()
        return SharedImage(share, image)


def _plausible(token: str) -> bool:
    return 16 <= len(token) <= 128 and token.replace("-", "").replace("_", "").isalnum()
