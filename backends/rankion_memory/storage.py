"""``MemoryStorage``: the whole storage port in one process, no database.

Units of work are serialised by one lock and undone from a journal on rollback, so
they are atomic and isolated like database transactions. Do not open a unit of work
inside another in the same task: it would wait for itself.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from rankion_core import ports
from rankion_core.models import (
    ApiToken,
    CalendarEvent,
    CalendarFeed,
    ChatSession,
    EditSession,
    Export,
    IdempotencyRecord,
    Image,
    Job,
    LedgerEntry,
    Project,
    Share,
    Team,
    User,
)
from rankion_core.reads import UnitOfWorkReads
from rankion_core.webhooks import Webhook, WebhookDelivery

from . import repositories as repo
from .feeds import CalendarFeeds
from .tables import Journal, Table
from .webhooks import MemoryWebhooks


class _Tables:
    def __init__(self) -> None:
        self.journal = Journal()
        j = self.journal
        self.teams: Table[Team] = Table(j)
        self.users: Table[User] = Table(j)
        self.tokens: Table[ApiToken] = Table(j)
        self.projects: Table[Project] = Table(j, per_team=True)
        self.events: Table[CalendarEvent] = Table(j, per_team=True)
        self.images: Table[Image] = Table(j)
        self.edit_sessions: Table[EditSession] = Table(j)
        self.jobs: Table[Job] = Table(j)
        self.shares: Table[Share] = Table(j)
        self.chats: Table[ChatSession] = Table(j, per_team=True)
        self.exports: Table[Export] = Table(j)
        self.ledger: Table[LedgerEntry] = Table(j)
        self.idempotency: Table[IdempotencyRecord] = Table(j)
        self.calendar_feeds: Table[CalendarFeed] = Table(j)
        self.webhooks: Table[Webhook] = Table(j)
        self.webhook_deliveries: Table[WebhookDelivery] = Table(j)


class MemoryUnitOfWork:
    # Typed as the ports: a Protocol's attributes are invariant, so a repository typed
    # as its own class would make this no ``UnitOfWork`` to a type checker.
    teams: ports.TeamRepository
    users: ports.UserRepository
    tokens: ports.TokenRepository
    projects: ports.ProjectRepository
    events: ports.EventRepository
    images: ports.ImageRepository
    edit_sessions: ports.EditSessionRepository
    jobs: ports.JobRepository
    shares: ports.ShareRepository
    chats: ports.ChatRepository
    exports: ports.ExportRepository
    ledger: ports.LedgerRepository
    idempotency: ports.IdempotencyRepository
    calendar_feeds: ports.CalendarFeedRepository
    webhooks: ports.WebhookRepository

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage
        t = storage.tables
        self.teams = repo.Teams(t.teams)
        self.users = repo.Users(t.users)
        self.tokens = repo.Tokens(t.tokens)
        self.projects = repo.Projects(t.projects)
        self.events = repo.Events(t.events, t.projects, t.webhooks)
        self.images = repo.Images(t.images, t.shares, t.chats)
        self.edit_sessions = repo.EditSessions(t.edit_sessions)
        self.jobs = repo.Jobs(t.jobs)
        self.shares = repo.Shares(t.shares, t.images)
        self.chats = repo.Chats(t.chats)
        self.exports = repo.Exports(t.exports)
        self.ledger = repo.Ledger(t.ledger)
        self.idempotency = repo.Idempotency(t.idempotency)
        self.calendar_feeds = CalendarFeeds(t.calendar_feeds)
        self.webhooks = MemoryWebhooks(t.webhooks, t.webhook_deliveries)

    async def __aenter__(self) -> Self:
        await self._storage.lock.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.rollback()
        finally:
            self._storage.lock.release()

    def one_statement(self) -> None:
        """Nothing to change: every unit of work is atomic under the lock already."""

    def no_transaction(self) -> None:
        """Nothing to change, as ``one_statement``."""

    async def commit(self) -> None:
        self._storage.tables.journal.commit()

    async def rollback(self) -> None:
        self._storage.tables.journal.rollback()


class MemoryStorage:
    def __init__(self) -> None:
        self.tables = _Tables()
        self.lock = asyncio.Lock()
        self._reads = UnitOfWorkReads(self)

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    def reads(self) -> UnitOfWorkReads:
        return self._reads

    async def migrate(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


def open_storage(url: str = "memory://", **options: Any) -> MemoryStorage:
    """Entry point ``rankion.storage:memory``."""
    return MemoryStorage()


if TYPE_CHECKING:  # mypy proves the ports are implemented, structurally

    def _conforms(storage: MemoryStorage) -> ports.Storage:
        return storage

    def _uow_conforms(uow: MemoryUnitOfWork) -> ports.UnitOfWork:
        return uow
