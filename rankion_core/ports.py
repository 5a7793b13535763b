"""The ports: what the core needs from the outside world, as ``typing.Protocol``s.

Backends implement them structurally (no inheritance needed); the core depends on
nothing but these. Every I/O method is ``async``. Repositories are team-scoped: a
lookup takes the caller's ``team_id`` and answers ``None`` for another team's row,
exactly as for a missing one.

Entities returned by a repository are the caller's to mutate; a change is stored
only by the matching ``update`` call, inside the unit of work, and becomes durable
on ``commit``.

Reading for update: a unit of work that writes back what it decided from rows it
read (a title and the search words made from it, a tree re-attached, a status that
needs a date) reads them with ``for_update=True``. No other unit of work reads those
rows ``for_update`` until it ends, and what it reads is what the last one committed
(PostgreSQL: ``SELECT … FOR UPDATE``). A backend whose units of work run one at a
time (SQLite, memory) has nothing to do. Rows of several are locked in id order, so
two units of work never wait for each other.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime
from types import TracebackType
from typing import Any, Protocol, Self

from attrs import define, field

from .models import (
    ApiToken,
    CalendarEvent,
    CalendarFeed,
    ChatSession,
    EditSession,
    EventStatus,
    EventType,
    Export,
    IdempotencyRecord,
    Image,
    ImageSort,
    Job,
    JobKind,
    LedgerEntry,
    ProcessingStatus,
    Project,
    Share,
    Team,
    User,
)
from .rules.generation import ModelCapabilities
from .webhooks import Webhook, WebhookDelivery

__all__ = [
    "ArticleDirectory",
    "BlobStore",
    "ChatSessionSink",
    "Clock",
    "DayQuery",
    "EditSpec",
    "EncodedRendition",
    "EventQuery",
    "GalleryReads",
    "GenerateSpec",
    "ImageCodec",
    "ImageFamily",
    "ImageInfo",
    "ImageListing",
    "ImageProvider",
    "ImageQuery",
    "ModelCapabilities",
    "OneStatement",
    "PreviewSink",
    "ProviderImage",
    "Reads",
    "SendResult",
    "SimilarListing",
    "SimilarQuery",
    "Storage",
    "UnitOfWork",
    "WebReady",
    "WebhookRepository",
    "WebhookSender",
    "no_transaction",
    "one_statement",
]


# --------------------------------------------------------------------------- queries


@define(frozen=True)
class ImageQuery:
    """Filters of ``GET /v1/images``; every field is already validated."""

    team_id: int
    q: str | None = None
    model: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    favorite: bool | None = None
    tags: tuple[str, ...] = ()
    project_id: int | None = None
    statuses: tuple[ProcessingStatus, ...] = ()
    sort: ImageSort = ImageSort.NEWEST
    page: int = 1
    per_page: int = 24


@define(frozen=True)
class EventQuery:
    team_id: int
    project_id: int
    scheduled_from: datetime | None = None
    scheduled_to: datetime | None = None
    statuses: tuple[EventStatus, ...] = ()
    types: tuple[EventType, ...] = ()
    #: only events without ``scheduled_at`` (the backlog of ideas)
    unscheduled: bool = False
    page: int = 1
    per_page: int = 100


@define(frozen=True)
class SimilarQuery:
    """``GET /v1/images/{id}/similar``: the team's images within ``max_distance`` bits
    of the hash of its image ``image_id``; every field is already validated."""

    team_id: int
    image_id: int
    max_distance: int
    page: int = 1
    per_page: int = 24


@define(frozen=True)
class DayQuery:
    """A project's events counted per day and status: ``days`` holds each day with its
    first and last instant (inclusive, UTC), as ``rules.calendar.local_days`` gives them."""

    team_id: int
    project_id: int
    days: tuple[tuple[date, datetime, datetime], ...]


# --------------------------------------------------------------------------- storage


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class TeamRepository(Protocol):
    async def add(self, team: Team) -> Team: ...
    async def get(self, team_id: int) -> Team | None: ...
    async def get_by_name(self, name: str) -> Team | None: ...
    async def list_after(self, after_id: int, limit: int) -> builtins.list[Team]:
        """At most ``limit`` teams with an id above ``after_id``, by id."""
        ...

    async def balance(self, team_id: int) -> int: ...
    async def charge(self, team_id: int, amount: int) -> int | None:
        """Atomically take ``amount`` if the balance covers it: the new balance, else None."""
        ...

    async def credit(self, team_id: int, amount: int) -> int:
        """Atomically add ``amount``; the new balance."""
        ...


class UserRepository(Protocol):
    async def add(self, user: User) -> User: ...
    async def get(self, team_id: int, user_id: int) -> User | None: ...
    async def get_by_name(self, team_id: int, name: str) -> User | None: ...


class TokenRepository(Protocol):
    async def add(self, token: ApiToken) -> ApiToken: ...
    async def find_by_prefix(self, prefix: str) -> builtins.list[ApiToken]: ...
    async def get(self, token_id: int) -> ApiToken | None:
        """The token with that id, of any team (the admin side)."""
        ...

    async def list(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[ApiToken], int]:
        """The team's tokens, oldest first, and their total."""
        ...

    async def delete(self, team_id: int, token_id: int) -> bool:
        """Remove one of the team's tokens (it stops working); False if there is none."""
        ...

    async def touch(self, token_id: int, at: datetime) -> None:
        """Set ``last_used_at``."""
        ...


class ProjectRepository(Protocol):
    async def add(self, project: Project) -> Project: ...
    async def get(self, team_id: int, project_id: int) -> Project | None: ...
    async def update(self, project: Project) -> None: ...
    async def list(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[Project], int]: ...

    async def count(self, team_id: int) -> int:
        """How many projects the team has, read in O(1) (a backend keeps the count, it
        does not count rows): what ``Deps.max_projects`` is checked against."""
        ...


class EventRepository(Protocol):
    async def add(self, event: CalendarEvent) -> CalendarEvent: ...
    async def add_unwatched(self, event: CalendarEvent, *, limit: int = 0) -> str | None:
        """Add ``event`` in one statement (``OneStatement``) if its project is its
        team's, the team has no webhook (a webhook's delivery would have to be
        queued with it, which ``add`` in a transaction does) and fewer than ``limit``
        events (0: any number): the project's time zone, and ``event.id`` set; ``None``
        when nothing was added (no such project of the team, a webhook, or the cap)."""
        ...

    async def count(self, team_id: int) -> int:
        """How many calendar events the team has in all its projects, read in O(1) (a
        backend keeps the count, it does not count rows): what
        ``Deps.max_calendar_events`` is checked against."""
        ...

    async def get(
        self, team_id: int, event_id: int, *, for_update: bool = False
    ) -> CalendarEvent | None:
        """``for_update``: see the module."""
        ...

    async def update(self, event: CalendarEvent) -> None: ...
    async def update_many(self, events: Sequence[CalendarEvent]) -> None:
        """``update`` of each (a calendar shift's events), in as few statements as the
        backend can: 5,000 one after another held SQLite's event loop 0.3 s."""
        ...

    async def delete(self, team_id: int, event_id: int) -> bool: ...
    async def list(
        self, query: EventQuery, *, for_update: bool = False, count_limit: int | None = None
    ) -> tuple[builtins.list[CalendarEvent], int]:
        """Ordered by ``scheduled_at`` (nulls last), then ``id``; ``for_update``: by
        ``id``, the page's events locked (see the module). ``count_limit``: the total
        is counted no further than one past it (``min(total, count_limit + 1)``), so
        a caller that only needs to know "more than that" reads no more rows."""
        ...

    async def day_counts(self, query: DayQuery) -> builtins.list[tuple[date, EventStatus, int]]:
        """``(day, status, n)`` for every day and status with events (``n > 0``), any
        order; a day and status may come more than once (the counts add up)."""
        ...


class ImageRepository(Protocol):
    async def add(self, image: Image) -> Image: ...
    async def get(self, team_id: int, image_id: int, *, for_update: bool = False) -> Image | None:
        """Trashed images too. ``for_update``: the caller will write fields derived
        from what it read (the search words from title, prompt and tags); no other
        unit of work reads the image ``for_update`` until this one ends (PostgreSQL:
        ``SELECT … FOR UPDATE``; a backend whose units of work run one at a time has
        nothing to do)."""
        ...

    async def get_many(
        self, team_id: int, ids: Sequence[int], *, for_update: bool = False
    ) -> builtins.list[Image]:
        """The team's images among ``ids`` (trashed too), in no particular order
        (``for_update``: see the module)."""
        ...

    async def update(self, image: Image, *, tags: bool = True, unlocked: bool = False) -> bool:
        """Write every field of ``image``; its tag rows too unless ``tags`` is false
        (the caller left ``image.tags`` as read). True: written.

        ``unlocked``: the caller read ``image`` in this unit of work without
        ``for_update`` (maybe outside any transaction: ``no_transaction``) and took no
        lock since. The fields it changes are written only while what they are stored
        together with is still as read (the search words are made of the title, the
        prompt and the tags: a new title goes with the words of the tags read, so only
        while those are the row's); else nothing is written and the answer is False:
        the caller reads again, ``for_update``. A backend whose units of work run one
        at a time writes and answers True. Not with ``tags``: tag rows written from an
        unlocked read may be another change's (``ValueError``)."""
        ...

    async def get_shown(
        self, team_id: int, image_id: int, now: datetime, *, for_update: bool = False
    ) -> tuple[Image, Share | None] | None:
        """``get``, with the image's active share at ``now``
        (``ShareRepository.active_for_image``) read with it, by the same statement
        where that is right: what an answer about one image shows. ``for_update``
        locks the image's row only, and the share is the one the image has once the
        lock is had (a share made or revoked by the unit of work the lock waited for
        is seen)."""
        ...

    async def toggle_favorite(self, team_id: int, image_id: int, at: datetime) -> bool | None:
        """Flip the image's favourite flag and set ``updated_at = at`` in one statement
        (trashed images too); the flag as written, or ``None`` when the team has none
        of that id."""
        ...

    async def delete(self, team_id: int, image_id: int) -> None:
        """Remove the row for good (shares and chat sessions of it go too)."""
        ...

    async def list(self, query: ImageQuery) -> tuple[builtins.list[Image], int]:
        """Non-trashed images matching ``query``, ordered as it says, ties by id."""
        ...

    async def list_trash(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[Image], int]:
        """Trashed images, newest ``deleted_at`` first, ties by id descending."""
        ...

    async def tree(
        self, team_id: int, root_id: int, *, for_update: bool = False
    ) -> builtins.list[Image]:
        """Every image of one variant tree (the root and all with that ``root_id``;
        ``for_update``: see the module)."""
        ...

    async def set_edited_at(self, team_id: int, ids: Sequence[int], at: datetime) -> None: ...
    async def set_trash(
        self,
        team_id: int,
        ids: Sequence[int],
        deleted_at: datetime | None,
        purge_at: datetime | None,
        at: datetime,
    ) -> None:
        """The team's images among ``ids`` get these trash dates and ``updated_at = at``
        (others' ids are left alone), in one statement: bulk trash and restore."""
        ...

    async def due_for_purge(self, now: datetime, limit: int) -> builtins.list[Image]:
        """Trashed images of any team whose ``purge_at`` is at or before ``now``."""
        ...

    async def blob_keys(self) -> set[str]:
        """Every blob key (image, thumbnail, clean copy, renditions) any row refers to:
        the orphan check."""
        ...

    async def similar(
        self, team_id: int, phash: int, max_distance: int, exclude_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[tuple[Image, int]], int]:
        """The team's live images with a ``phash`` within ``max_distance`` bits of
        ``phash`` (``exclude_id`` left out), closest first, ties by id: one page of
        ``(image, distance)`` and the total. However a backend narrows the search
        (``rules.similar``'s hash bands, say), the answer is the one comparing every
        hash gives; ``testing.storage.similar`` checks that."""
        ...


class EditSessionRepository(Protocol):
    async def add(self, session: EditSession) -> EditSession: ...
    async def get(self, team_id: int, session_id: int) -> EditSession | None: ...


class JobRepository(Protocol):
    async def add(self, job: Job) -> Job: ...
    async def get(self, team_id: int, job_id: int) -> Job | None: ...
    async def get_any(self, job_id: int) -> Job | None:
        """Worker side: a job of any team."""
        ...

    async def claim(
        self,
        worker: str,
        now: datetime,
        lease_until: datetime,
        kinds: Sequence[JobKind] | None = None,
        *,
        skip_teams: Sequence[int] = (),
    ) -> Job | None:
        """Atomically take one claimable job: ``queued`` with ``run_after`` due, or
        ``running`` with an expired lease. It becomes ``running`` under ``worker``'s
        lease with ``attempts`` one higher; oldest first. No job is ever handed to two
        claimers for the same attempt. ``skip_teams``: teams whose jobs are left for
        now (they hold their share of the lane's loops: ``services.TeamShare``)."""
        ...

    async def heartbeat(self, job_id: int, attempt: int, lease_until: datetime) -> bool:
        """Extend the lease while ``attempt`` still holds it."""
        ...

    async def set_payload(self, job_id: int, attempt: int, payload: dict[str, Any]) -> bool:
        """Replace a running job's payload while ``attempt`` still holds it (fenced):
        how a worker lists what it wrote while the job runs (its previews)."""
        ...

    async def finish(self, job: Job, attempt: int) -> bool:
        """Store ``job``'s final state only if it is still ``running`` at ``attempt``
        (the fencing token); False when a newer attempt or an end came first."""
        ...

    async def release(
        self, job_id: int, attempt: int, run_after: datetime, error: str | None
    ) -> bool:
        """Put a running job back to ``queued`` for a later attempt (fenced)."""
        ...

    async def count_active(self, team_id: int, kinds: Sequence[JobKind]) -> int: ...
    async def count_claimable(self, now: datetime) -> int: ...
    async def active_payloads(self) -> builtins.list[dict[str, Any]]:
        """The payloads of every job of any team still ``queued`` or ``running``: the
        orphan check (an edit's mask and a job's previews live until the job ends)."""
        ...


class ShareRepository(Protocol):
    async def add(self, share: Share) -> Share: ...
    async def active_for_image(self, team_id: int, image_id: int, now: datetime) -> Share | None:
        """The share that is neither revoked nor expired, if any."""
        ...

    async def active_for_images(
        self, team_id: int, image_ids: Sequence[int], now: datetime
    ) -> dict[int, Share]:
        """The active share of each of ``image_ids`` that has one (one query)."""
        ...

    async def get_by_token(self, token: str) -> Share | None: ...
    async def update(self, share: Share) -> None: ...
    async def add_views(self, share_id: int, image_id: int, views: int) -> None:
        """Add ``views`` to the share's ``view_count`` and to its image's
        ``share_views`` as ``x = x + n`` (concurrent writers never lose a view); a
        share or image that no longer exists is skipped."""
        ...


class ChatRepository(Protocol):
    async def add(self, session: ChatSession) -> ChatSession: ...
    async def get(self, team_id: int, session_id: int) -> ChatSession | None: ...
    async def count(self, team_id: int) -> int:
        """How many chat sessions the team has, read in O(1) (a backend keeps the count, it
        does not count rows): what ``Deps.max_chat_sessions`` is checked against."""
        ...


class ExportRepository(Protocol):
    async def add(self, export: Export) -> Export: ...
    async def get(self, team_id: int, job_id: int) -> Export | None: ...
    async def get_any(self, job_id: int) -> Export | None: ...
    async def update(self, export: Export) -> None: ...
    async def expired(self, now: datetime) -> builtins.list[Export]:
        """Finished exports whose ``expires_at`` has passed and whose ZIP still exists."""
        ...

    async def blob_keys(self) -> set[str]:
        """Every ZIP key an export row of any team refers to: the orphan check."""
        ...

    async def kept(self, team_id: int, now: datetime) -> tuple[int, datetime | None]:
        """The bytes of the team's export ZIPs still kept at ``now`` (a ZIP, not yet
        expired), and when the first of them expires (None: none is kept)."""
        ...


class LedgerRepository(Protocol):
    async def add(self, entry: LedgerEntry) -> LedgerEntry: ...
    async def list(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[LedgerEntry], int]:
        """Newest first."""
        ...

    async def total(self, team_id: int) -> int: ...
    async def has_entry(self, job_id: int, reason: str) -> bool: ...
    async def job_of_image(self, team_id: int, image_id: int) -> int | None:
        """The job of the team's newest entry naming ``image_id`` with a job (the
        charge of the generation or edit that draws it), if any."""
        ...


class IdempotencyRepository(Protocol):
    async def begin(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """Insert ``record`` unless ``(team_id, key)`` exists: None when inserted, else
        the existing record (atomic across processes)."""
        ...

    async def complete(self, record: IdempotencyRecord) -> None: ...
    async def forget(self, team_id: int, key: str) -> None: ...
    async def purge(self, before: datetime) -> int: ...


class CalendarFeedRepository(Protocol):
    """One feed token per project, kept as a digest."""

    async def put(self, feed: CalendarFeed) -> None:
        """Store the project's feed, replacing the one it had (the old token stops working)."""
        ...

    async def get(self, team_id: int, project_id: int) -> CalendarFeed | None: ...
    async def find(self, digest: str) -> CalendarFeed | None:
        """The feed whose token has ``digest``, of any team (the public side)."""
        ...

    async def delete(self, team_id: int, project_id: int) -> bool: ...


class WebhookRepository(Protocol):
    async def add(self, webhook: Webhook) -> Webhook: ...
    async def get(self, team_id: int, webhook_id: int) -> Webhook | None: ...
    async def list(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[Webhook], int]:
        """Oldest first."""
        ...

    async def delete(self, team_id: int, webhook_id: int) -> bool:
        """Remove the webhook and its deliveries; False when there was none."""
        ...

    async def subscribed(self, team_id: int, event: str) -> builtins.list[Webhook]:
        """The team's webhooks that listen to ``event``."""
        ...

    async def add_delivery(self, delivery: WebhookDelivery) -> WebhookDelivery: ...
    async def get_delivery(self, job_id: int) -> WebhookDelivery | None:
        """Worker side: a delivery of any team."""
        ...

    async def update_delivery(self, delivery: WebhookDelivery) -> None: ...
    async def deliveries(
        self, team_id: int, webhook_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[WebhookDelivery], int]:
        """Newest first."""
        ...


class UnitOfWork(Protocol):
    """One transaction. ``async with storage.unit_of_work() as uow: ...; await uow.commit()``;
    leaving the block without ``commit`` rolls everything back."""

    teams: TeamRepository
    users: UserRepository
    tokens: TokenRepository
    projects: ProjectRepository
    events: EventRepository
    images: ImageRepository
    edit_sessions: EditSessionRepository
    jobs: JobRepository
    shares: ShareRepository
    chats: ChatRepository
    exports: ExportRepository
    ledger: LedgerRepository
    idempotency: IdempotencyRepository
    calendar_feeds: CalendarFeedRepository
    webhooks: WebhookRepository

    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class OneStatement(Protocol):
    """What a unit of work may offer besides ``UnitOfWork`` (``one_statement(uow)``,
    ``no_transaction(uow)``)."""

    def one_statement(self) -> None:
        """Declare, before the unit of work's first statement, that it makes exactly
        one: one repository call its backend runs as one statement
        (``images.toggle_favorite``), then ``commit``. A statement is atomic on its
        own, so the backend may run it outside a transaction (PostgreSQL: no ``BEGIN``
        and ``COMMIT`` round trips, the change is committed when the call returns) and
        may refuse a second statement with ``RuntimeError``."""
        ...

    def no_transaction(self) -> None:
        """Declare, before the unit of work's first statement, that it needs no
        transaction: each statement it makes is atomic on its own, and the caller
        makes their sequence safe (a write ``unlocked``, checked against what was
        read). The backend may run each statement outside a transaction, committed
        when it returns (PostgreSQL: no ``BEGIN`` and ``COMMIT`` round trips, and a
        row written is locked for its one statement only)."""
        ...


def one_statement(uow: UnitOfWork) -> None:
    """``uow.one_statement()`` where the unit of work has it (see ``OneStatement``); a
    unit of work without it (a plug-in of an earlier release) stays a transaction."""
    _declare(uow, "one_statement")


def no_transaction(uow: UnitOfWork) -> None:
    """``uow.no_transaction()`` where the unit of work has it (see ``OneStatement``);
    a unit of work without it stays a transaction."""
    _declare(uow, "no_transaction")


def _declare(uow: UnitOfWork, name: str) -> None:
    declare = getattr(uow, name, None)
    if callable(declare):
        declare()


@define(frozen=True)
class ImageListing:
    """One page of a gallery list and what it shows, read from one snapshot."""

    images: builtins.list[Image]
    total: int
    #: False when the backend stopped counting at the limit it was given: ``total``
    #: is then that limit, a lower bound of the true number.
    total_exact: bool
    #: the active share of each listed image that has one
    shares: dict[int, Share]


@define(frozen=True)
class ImageFamily:
    """An image (trashed ones too), its whole variant tree, and their active shares."""

    image: Image
    #: every image of the tree, its root included, by id
    tree: builtins.list[Image]
    shares: dict[int, Share]


@define(frozen=True)
class SimilarListing:
    """One page of an image's look-alikes (``ImageRepository.similar``) and their
    active shares, read from one snapshot."""

    #: the image compared with (trashed ones too)
    image: Image
    #: ``(image, distance)``, closest first; empty while the image has no hash
    near: builtins.list[tuple[Image, int]]
    total: int
    shares: dict[int, Share]


class Reads(Protocol):
    """The read-only answers of the server's reads (the gallery's list and detail, and
    every list whose cost grows with a team's data: a project's events and its
    per-day counts, the trash, the ledger, look-alikes), each from one consistent
    snapshot and outside any unit of work, so a backend may serve them from a
    read-only connection, a replica or a cache, away from its writes.
    ``rankion_core.reads.UnitOfWorkReads`` answers them through ``unit_of_work()``;
    what each answers is what the repositories named below answer there."""

    async def image_listing(
        self, query: ImageQuery, now: datetime, count_limit: int
    ) -> ImageListing:
        """What ``uow.images.list(query)`` answers, plus the page's active shares.

        When more than ``count_limit`` images match, a backend may stop counting and
        answer ``total=count_limit, total_exact=False``; otherwise (and whenever it
        knows the number cheaply) the exact total with ``total_exact=True``.
        """
        ...

    async def image_family(self, team_id: int, image_id: int, now: datetime) -> ImageFamily | None:
        """The image with its tree and shares; None when absent or another team's."""
        ...

    async def event_page(
        self, query: EventQuery, *, count_limit: int | None = None
    ) -> tuple[builtins.list[CalendarEvent], int]:
        """What ``uow.events.list(query, count_limit=count_limit)`` answers (the exact
        total, or counted no further than one past ``count_limit``)."""
        ...

    async def day_counts(self, query: DayQuery) -> builtins.list[tuple[date, EventStatus, int]]:
        """What ``uow.events.day_counts(query)`` answers."""
        ...

    async def ledger_page(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[LedgerEntry], int]:
        """What ``uow.ledger.list(team_id, page, per_page)`` answers."""
        ...

    async def trash_listing(
        self, team_id: int, page: int, per_page: int, now: datetime
    ) -> ImageListing:
        """What ``uow.images.list_trash(team_id, page, per_page)`` answers (an exact
        total), plus the page's active shares."""
        ...

    async def similar_listing(self, query: SimilarQuery, now: datetime) -> SimilarListing | None:
        """The team's image (``uow.images.get``) with what ``uow.images.similar``
        answers for its hash (none while it has none) and the page's active shares;
        None when the image is absent or another team's."""
        ...


#: the earlier name of ``Reads``, when it answered the gallery alone
GalleryReads = Reads


class Storage(Protocol):
    def unit_of_work(self) -> UnitOfWork: ...
    def reads(self) -> Reads:
        """The read-only queries (one object, reused)."""
        ...

    async def migrate(self) -> None:
        """Bring the schema up to date (a no-op where there is none)."""
        ...

    async def ping(self) -> None:
        """Raise ``Unavailable`` when the database cannot be reached."""
        ...

    async def close(self) -> None: ...


# --------------------------------------------------------------------------- blobs


class BlobStore(Protocol):
    """Bytes by key. Keys are made by the store, never taken from user input."""

    async def put(self, data: bytes, *, kind: str, ext: str, content_type: str) -> str:
        """Store ``data`` under a new key (``kind`` is a namespace such as ``images``)."""
        ...

    async def put_stream(
        self, chunks: AsyncIterable[bytes], *, kind: str, ext: str, content_type: str
    ) -> tuple[str, int]:
        """Store a stream without holding it in memory: ``(key, size)``."""
        ...

    async def get(self, key: str) -> bytes: ...
    def stream(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]: ...
    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...
    def keys(self) -> AsyncIterator[str]:
        """Every key in the store (for orphan checks)."""
        ...

    def presign(self, key: str, *, expires_at: datetime, filename: str | None = None) -> str | None:
        """A URL a browser can fetch without credentials, or None when the store has
        none of its own (the core then signs a URL that the server serves)."""
        ...

    def local_file(self, key: str) -> str | None:
        """The path of the file holding ``key`` when the store keeps blobs as files on
        this machine (a server may then send it with sendfile), else None. The file
        may be missing; nothing is checked."""
        ...

    async def ping(self) -> None: ...
    async def close(self) -> None: ...


# --------------------------------------------------------------------------- images


@define(frozen=True)
class GenerateSpec:
    prompt: str
    model: str
    size: str
    quality: str
    background: str | None = None
    output_format: str = "png"
    #: 0..100, for jpeg and webp (None: the provider's default)
    output_compression: int | None = None
    #: ``auto`` or ``low`` (None: the provider's default)
    moderation: str | None = None
    #: previews to send to the ``PreviewSink`` before the final image (0: none)
    partial_images: int = 0


@define(frozen=True)
class EditSpec:
    prompt: str
    model: str
    size: str
    quality: str
    output_format: str = "png"
    mask: bytes | None = field(default=None, repr=False)
    #: ``high`` or ``low`` (None: the provider's default)
    input_fidelity: str | None = None
    partial_images: int = 0


@define(frozen=True)
class ProviderImage:
    data: bytes = field(repr=False)
    revised_prompt: str | None = None


#: Told each partial image as it comes: ``(index, bytes)``, index from 0. A preview is
#: never the final image: that one is the ``ProviderImage`` the call returns.
PreviewSink = Callable[[int, bytes], Awaitable[None]]


class ImageProvider(Protocol):
    """Makes pictures. Raise ``ProviderRejected`` for a final refusal (shown to the
    user, credits refunded) and ``ProviderUnavailable`` for a transient failure.

    ``capabilities`` declares, as data, what each model takes (``ModelCapabilities``):
    the core validates requests against it and ``GET /v1/models`` serves it. A spec
    that reaches the provider was checked against its model's entry. With
    ``spec.partial_images > 0`` and a ``previews`` sink, the provider hands it up to
    that many partial images, in order, before it returns the final one.
    """

    name: str
    default_model: str
    capabilities: Sequence[ModelCapabilities]

    async def generate(
        self, spec: GenerateSpec, previews: PreviewSink | None = None
    ) -> ProviderImage: ...
    async def edit(
        self, source: bytes, spec: EditSpec, previews: PreviewSink | None = None
    ) -> ProviderImage: ...
    async def close(self) -> None: ...


@define(frozen=True)
class ImageInfo:
    width: int
    height: int
    mime_type: str
    ext: str


@define(frozen=True)
class EncodedRendition:
    format: str
    width: int
    height: int
    data: bytes = field(repr=False)


@define(frozen=True)
class WebReady:
    """What a ready image gets beside its original, made from one decode."""

    #: the ThumbHash, base64
    placeholder: str
    #: the 64-bit perceptual hash, unsigned
    phash: int
    #: the original without EXIF/XMP/GPS/text metadata; None when it carried none
    public: bytes | None = field(repr=False)
    renditions: builtins.list[EncodedRendition] = field(factory=list)


class ImageCodec(Protocol):
    """CPU-bound image work (synchronous; the core runs it off the event loop)."""

    max_bytes: int

    def inspect(self, data: bytes) -> ImageInfo:
        """Decode and describe ``data``; raise ``Invalid`` if it is not a whole image
        of an allowed type within ``max_bytes``."""
        ...

    def thumbnail(self, data: bytes, max_side: int = 256) -> bytes:
        """A WebP no larger than ``max_side`` on its longer side."""
        ...

    def check_mask(self, data: bytes, width: int, height: int) -> None:
        """Raise ``Invalid`` (its ``details`` naming ``mask``) unless ``data`` is a
        ``width``x``height`` PNG with an alpha channel."""
        ...

    def web_ready(
        self, data: bytes, sizes: Sequence[tuple[int, int]], formats: Sequence[str]
    ) -> WebReady:
        """Placeholder, perceptual hash, clean public bytes, and a rendition in each of
        ``formats`` at each of ``sizes`` (upright, no metadata)."""
        ...


# --------------------------------------------------------------------------- webhooks


@define(frozen=True)
class SendResult:
    """What one try got: an HTTP status, or an error when there was no answer."""

    status_code: int | None
    error: str | None = None
    ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender(Protocol):
    """POSTs a signed body. Never raises for the target's failures: it reports them."""

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult: ...
    async def close(self) -> None: ...


# --------------------------------------------------------------------------- embedding app


class ArticleDirectory(Protocol):
    """Articles live outside Rankion; the embedding app says which exist."""

    async def exists(self, team_id: int, project_id: int | None, article_id: int) -> bool: ...


class ChatSessionSink(Protocol):
    """Told when a chat session is opened on an image (the embedding app's chat)."""

    async def opened(self, session: ChatSession, image: Image) -> None: ...
