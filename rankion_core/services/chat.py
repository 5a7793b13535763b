"""Open an image in chat: a chat session bound to it, handed to the embedding app."""

from __future__ import annotations

from ..errors import Conflict, NotFound
from ..models import Actor, ChatSession
from .caps import check_room
from .deps import Deps
from .gallery import get_image


class Chat:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def open(self, actor: Actor, image_id: int) -> ChatSession:
        async with self.deps.storage.unit_of_work() as uow:
            image = await get_image(uow, actor, image_id)
            if image.deleted_at is not None:
                raise Conflict("the image is in the trash", code="image_in_trash")
            await check_room(
                "chat sessions",
                self.deps.max_chat_sessions,
                uow.chats.count,
                actor.team_id,
                "a session goes when its image is deleted for good",
            )
            session = await uow.chats.add(
                ChatSession(
                    id=0,
                    team_id=actor.team_id,
                    user_id=actor.user_id,
                    gallery_image_id=image.id,
                    created_at=self.deps.clock.now(),
                )
            )
            await uow.commit()
        await self.deps.chat_sink.opened(session, image)
        return session

    async def get(self, actor: Actor, session_id: int) -> ChatSession:
        async with self.deps.storage.unit_of_work() as uow:
            session = await uow.chats.get(actor.team_id, session_id)
        if session is None:
            raise NotFound("chat session")
        return session
