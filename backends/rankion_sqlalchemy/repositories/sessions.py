"""Things opened on an image: shares, chat sessions, edit sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, or_, update

from rankion_core.models import ChatSession, EditSession, Share

from ..rows import rows_of
from ..tables import chat_sessions, edit_sessions, images, shares
from .base import Repository

__all__ = ["ChatRepo", "EditSessionRepo", "ShareRepo"]

_s = shares.c
_SHARE, _CHAT, _EDIT = rows_of(Share), rows_of(ChatSession), rows_of(EditSession)


def active_share(team_id: Any, now: Any) -> list[ColumnElement[bool]]:
    """The team's shares active at ``now`` (values, or ``bindparam``s): the one
    definition of an active share in SQL (``rules.shares.is_active``)."""
    return [
        _s.team_id == team_id,
        _s.revoked_at.is_(None),
        or_(_s.expires_at.is_(None), _s.expires_at > now),
    ]


#: built once and run with parameters (see ``base``)
_ACTIVE_OF = (
    _SHARE.select()
    .where(
        *active_share(bindparam("team_id"), bindparam("now")),
        _s.image_id.in_(bindparam("image_ids", expanding=True)),
    )
    .order_by(_s.id)
)
#: the newest active share of one image
_ACTIVE_ONE = (
    _SHARE.select()
    .where(
        *active_share(bindparam("team_id"), bindparam("now")),
        _s.image_id == bindparam("image_id"),
    )
    .order_by(_s.id.desc())
    .limit(1)
)


class ShareRepo(Repository):
    async def add(self, share: Share) -> Share:
        return await self._add(share)

    async def active_for_image(self, team_id: int, image_id: int, now: datetime) -> Share | None:
        params = {"team_id": team_id, "now": now, "image_id": image_id}
        row = (await self.session.execute(_ACTIVE_ONE, params)).first()
        return None if row is None else _SHARE.one(row)

    async def active_for_images(
        self, team_id: int, image_ids: Sequence[int], now: datetime
    ) -> dict[int, Share]:
        if not image_ids:
            return {}
        params = {"team_id": team_id, "now": now, "image_ids": sorted(set(image_ids))}
        found = _SHARE.many(await self.session.execute(_ACTIVE_OF, params))
        # Ascending ids: the newest active share of an image wins, as in active_for_image.
        return {share.image_id: share for share in found}

    async def get_by_token(self, token: str) -> Share | None:
        return await self._first(_SHARE, _SHARE.select().where(_s.token == token))

    async def update(self, share: Share) -> None:
        await self._update_row(shares, share, ("id", "team_id"))

    async def add_views(self, share_id: int, image_id: int, views: int) -> None:
        """Two ``x = x + n`` UPDATEs: concurrent writers never lose a view. The image's
        row first: the share flows lock the image, then its share."""
        await self.session.execute(
            update(images)
            .where(images.c.id == image_id)
            .values(share_views=images.c.share_views + views)
        )
        await self.session.execute(
            update(shares).where(_s.id == share_id).values(view_count=_s.view_count + views)
        )


class ChatRepo(Repository):
    async def add(self, session: ChatSession) -> ChatSession:
        return await self._add(session)

    async def get(self, team_id: int, session_id: int) -> ChatSession | None:
        c = chat_sessions.c
        return await self._first(
            _CHAT, _CHAT.select().where(c.team_id == team_id, c.id == session_id)
        )

    async def count(self, team_id: int) -> int:
        return await self._team_count("chat_sessions", team_id)


class EditSessionRepo(Repository):
    async def add(self, session: EditSession) -> EditSession:
        return await self._add(session)

    async def get(self, team_id: int, session_id: int) -> EditSession | None:
        c = edit_sessions.c
        return await self._first(
            _EDIT, _EDIT.select().where(c.team_id == team_id, c.id == session_id)
        )
