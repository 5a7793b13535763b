"""Ready-made implementations of the small ports: the system clock, an article
directory that accepts any positive id, a chat sink that does nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .models import ChatSession, Image


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, when: datetime) -> None:
        self._now = when


class AnyArticle:
    """The default article directory: every positive integer is an article."""

    async def exists(self, team_id: int, project_id: int | None, article_id: int) -> bool:
        return article_id > 0


class NoChatSink:
    async def opened(self, session: ChatSession, image: Image) -> None:
        return None
