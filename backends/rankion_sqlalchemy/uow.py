"""One unit of work: one session, one transaction, every repository."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from sqlalchemy import exc as sa_exc

from rankion_core import ports
from rankion_core.errors import Invalid, RankionError, Unavailable
from rankion_core.ports import WebhookRepository
from rankion_core.rules.text import NUL_REFUSED

from .repositories import (
    ChatRepo,
    EditSessionRepo,
    EventRepo,
    ExportRepo,
    IdempotencyRepo,
    ImageRepo,
    JobRepo,
    LedgerRepo,
    ProjectRepo,
    ShareRepo,
    TeamRepo,
    TokenRepo,
    UserRepo,
)
from .repositories.base import Repository
from .repositories.feeds import CalendarFeedRepo
from .repositories.webhooks import WebhookRepo
from .session import Session

__all__ = ["UNAVAILABLE_ERRORS", "SqlUnitOfWork"]

#: What "the database cannot be reached (or is too busy)" looks like.
UNAVAILABLE_ERRORS: tuple[type[BaseException], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    OSError,
)

#: SQLSTATEs of text the database cannot store: PostgreSQL's ``text`` holds no NUL
#: (the server refuses it in every field first; this keeps a library caller's 4xx a 4xx)
UNSTORABLE_TEXT = ("22021", "22P05")


#: SQLSTATEs of a transaction PostgreSQL ended so that another could go on (a
#: deadlock, a serialization failure, a lock not granted): the same request may well
#: succeed when sent again, so it is a ``503`` like a busy database, not a ``500``
CONTENDED = ("40001", "40P01", "55P03")

#: SQLSTATEs of a statement PostgreSQL could not run now but may well run when sent
#: again: cancelled by ``statement_timeout`` (``57014``), or a prepared statement whose
#: result changed under it after a schema change (``0A000``, "cached plan must not
#: change result type": the connection prepares it anew next time)
RETRYABLE = ("57014", "0A000")


def _sqlstate(exc: sa_exc.DBAPIError) -> str | None:
    """The driver's SQLSTATE (on the adapted error, or on the asyncpg one it wraps)."""
    orig = exc.orig
    cause = orig.__cause__ if orig is not None else None
    state = getattr(orig, "sqlstate", None) or getattr(cause, "sqlstate", None)
    return state if isinstance(state, str) else None


#: the repositories of a unit of work, by attribute
_REPOSITORIES: dict[str, Callable[[Session, str], Repository]] = {
    "teams": TeamRepo,
    "users": UserRepo,
    "tokens": TokenRepo,
    "projects": ProjectRepo,
    "events": EventRepo,
    "images": ImageRepo,
    "edit_sessions": EditSessionRepo,
    "jobs": JobRepo,
    "shares": ShareRepo,
    "chats": ChatRepo,
    "exports": ExportRepo,
    "ledger": LedgerRepo,
    "idempotency": IdempotencyRepo,
    "calendar_feeds": CalendarFeedRepo,
    "webhooks": WebhookRepo,
}


class SqlUnitOfWork:
    """``async with storage.unit_of_work() as uow``; leaving without ``commit`` rolls back.

    Database outages surface as ``rankion_core.errors.Unavailable`` when the block is
    left, so the server answers 503 and a worker retries.

    ``sessions`` makes the session: a ``ConnectionSession``, or on a SQLite file an
    ``InlineSession`` (``inline``: the statements run on the calling thread).

    On a SQLite file, units of work share ``COMMIT``s (``inline``): leaving the block
    waits for the one that makes this unit of work's writes durable.

    On SQLite every unit of work takes the database's write lock when it begins
    (``BEGIN IMMEDIATE``), so only one runs at a time anyway; ``writer`` makes the
    units of work of one process queue for it in order, instead of each polling the
    file lock with SQLite's busy handler (which sleeps up to 100 ms between tries:
    under 16 concurrent writes that made the p99 seconds). The wait is bounded by the
    busy timeout, as SQLite's own wait was: a unit of work begun inside another one
    (never done on purpose) still fails with ``Unavailable`` instead of hanging.
    """

    # Typed as the ports: a Protocol's attributes are invariant.
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
    webhooks: WebhookRepository

    def __init__(
        self,
        sessions: Callable[[], Session],
        dialect: str,
        writer: asyncio.Lock | None = None,
        writer_wait: float = 5.0,
    ) -> None:
        self._sessions = sessions
        self._dialect = dialect
        self._session: Session | None = None
        self._writer = writer
        self._writer_wait = writer_wait

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("use the unit of work as `async with storage.unit_of_work()`")
        return self._session

    async def __aenter__(self) -> Self:
        writer = self._writer
        if writer is not None:
            if writer.locked():
                # as long as SQLite's busy timeout would have waited, then the same 503
                # (``timeout``, not ``wait_for``: no task and turn of the loop per unit
                # of work)
                try:
                    async with asyncio.timeout(self._writer_wait):
                        await writer.acquire()
                except TimeoutError:
                    raise Unavailable("storage is unavailable (busy)") from None
            else:
                await writer.acquire()  # free: taken at once, without a timer
        self._session = self._sessions()
        return self

    def __getattr__(self, name: str) -> Any:
        """A repository, made on its first use in the unit of work (most use one or
        two of them)."""
        make = _REPOSITORIES.get(name)
        if make is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        repository = make(self.session, self._dialect)
        setattr(self, name, repository)
        return repository

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self.session, None
        made = self.__dict__
        for name in _REPOSITORIES.keys() & made.keys():
            del made[name]  # bound to the session that ends here
        try:
            await session.close()  # rolls back whatever was not committed
        except UNAVAILABLE_ERRORS as failure:
            if exc is None:
                raise Unavailable("storage is unavailable") from failure
        finally:
            if self._writer is not None:
                self._writer.release()
        durable = session.durable
        if durable is not None:
            # the group's COMMIT (``inline``), also after a block that committed and
            # then raised: its writes stand or fail before anything goes on
            await durable  # Unavailable if it failed
        if isinstance(exc, UNAVAILABLE_ERRORS) and not isinstance(exc, RankionError):
            raise Unavailable("storage is unavailable") from exc
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            raise Unavailable("storage is unavailable (the connection was lost)") from exc
        if isinstance(exc, sa_exc.DBAPIError):
            state = _sqlstate(exc)
            if state in UNSTORABLE_TEXT:
                raise Invalid(f"text {NUL_REFUSED}", details={"body": NUL_REFUSED}) from exc
            if state in CONTENDED:
                raise Unavailable("storage is busy with a conflicting change") from exc
            if state in RETRYABLE:
                raise Unavailable("storage could not run the request now; try again") from exc

    def one_statement(self) -> None:
        """``ports.OneStatement``: as the session runs it (autocommit on PostgreSQL)."""
        self.session.one_statement()

    def no_transaction(self) -> None:
        """``ports.OneStatement``: as the session runs it (autocommit on PostgreSQL)."""
        self.session.no_transaction()

    async def commit(self) -> None:
        await self.session.commit()

    async def rollback(self) -> None:
        await self.session.rollback()
