"""Every storage port over in-memory tables; the reference the contract suite
holds the SQL backend to."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from rankion_core.models import (
    ACTIVE_JOB_STATUSES,
    ApiToken,
    CalendarEvent,
    ChatSession,
    EditSession,
    EventStatus,
    Export,
    IdempotencyRecord,
    Image,
    ImageSort,
    Job,
    JobKind,
    JobStatus,
    LedgerEntry,
    Project,
    Share,
    Team,
    User,
)
from rankion_core.ports import DayQuery, EventQuery, ImageQuery
from rankion_core.reads import IMAGE_FILTERS, active_filters
from rankion_core.rules import renditions, search, similar, trash
from rankion_core.rules.fairness import Lane, lane_of, lanes_of, next_turn
from rankion_core.rules.limits import at_cap
from rankion_core.rules.shares import is_active
from rankion_core.rules.text import tag_key
from rankion_core.webhooks import Webhook

from .tables import Table, clone

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def page_of(rows: builtins.list[T], page: int, per_page: int) -> tuple[builtins.list[T], int]:
    start = (page - 1) * per_page
    return [clone(r) for r in rows[start : start + per_page]], len(rows)


def _add(table: Table[Any], row: Any) -> Any:
    row.id = table.new_id()
    table.put(row.id, row)
    return row


def _scoped(row: Any, team_id: int) -> Any:
    return row if row is not None and row.team_id == team_id else None


class Teams:
    def __init__(self, table: Table[Team]) -> None:
        self.t = table

    async def add(self, team: Team) -> Team:
        return _add(self.t, team)  # type: ignore[no-any-return]

    async def get(self, team_id: int) -> Team | None:
        return self.t.get(team_id)

    async def get_by_name(self, name: str) -> Team | None:
        return next((clone(t) for t in self.t.rows() if t.name == name), None)

    async def list_after(self, after_id: int, limit: int) -> list[Team]:
        found = sorted((t for t in self.t.rows() if t.id > after_id), key=lambda t: t.id)
        return [clone(t) for t in found[:limit]]

    async def balance(self, team_id: int) -> int:
        team = self.t.peek(team_id)
        return team.credits if team else 0

    async def charge(self, team_id: int, amount: int) -> int | None:
        team = self.t.get(team_id)
        if team is None or team.credits < amount:
            return None
        team.credits -= amount
        self.t.put(team_id, team)
        return team.credits

    async def credit(self, team_id: int, amount: int) -> int:
        team = self.t.get(team_id)
        if team is None:
            return 0
        team.credits += amount
        self.t.put(team_id, team)
        return team.credits


class Users:
    def __init__(self, table: Table[User]) -> None:
        self.t = table

    async def add(self, user: User) -> User:
        return _add(self.t, user)  # type: ignore[no-any-return]

    async def get(self, team_id: int, user_id: int) -> User | None:
        return _scoped(self.t.get(user_id), team_id)  # type: ignore[no-any-return]

    async def get_by_name(self, team_id: int, name: str) -> User | None:
        found = (u for u in self.t.rows() if u.team_id == team_id and u.name == name)
        return next((clone(u) for u in found), None)


class Tokens:
    def __init__(self, table: Table[ApiToken]) -> None:
        self.t = table

    async def add(self, token: ApiToken) -> ApiToken:
        return _add(self.t, token)  # type: ignore[no-any-return]

    async def find_by_prefix(self, prefix: str) -> builtins.list[ApiToken]:
        return [clone(t) for t in self.t.rows() if t.prefix == prefix]

    async def get(self, token_id: int) -> ApiToken | None:
        return self.t.get(token_id)

    async def list(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[ApiToken], int]:
        rows = sorted((t for t in self.t.rows() if t.team_id == team_id), key=lambda t: t.id)
        return page_of(rows, page, per_page)

    async def delete(self, team_id: int, token_id: int) -> bool:
        if _scoped(self.t.peek(token_id), team_id) is None:
            return False
        return self.t.remove(token_id)

    async def touch(self, token_id: int, at: datetime) -> None:
        token = self.t.get(token_id)
        if token is not None:
            token.last_used_at = at
            self.t.put(token_id, token)


class Projects:
    def __init__(self, table: Table[Project]) -> None:
        self.t = table

    async def add(self, project: Project) -> Project:
        return _add(self.t, project)  # type: ignore[no-any-return]

    async def get(self, team_id: int, project_id: int) -> Project | None:
        return _scoped(self.t.get(project_id), team_id)  # type: ignore[no-any-return]

    async def update(self, project: Project) -> None:
        self.t.put(project.id, project)

    async def list(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[Project], int]:
        rows = sorted((p for p in self.t.rows() if p.team_id == team_id), key=lambda p: p.id)
        return page_of(rows, page, per_page)

    async def count(self, team_id: int) -> int:
        return self.t.count(team_id)


def _by_id(row: Any) -> int:
    return int(row.id)


class Events:
    def __init__(
        self, table: Table[CalendarEvent], projects: Table[Project], hooks: Table[Webhook]
    ) -> None:
        self.t = table
        self.projects = projects
        self.hooks = hooks

    async def add(self, event: CalendarEvent) -> CalendarEvent:
        return _add(self.t, event)  # type: ignore[no-any-return]

    async def add_unwatched(self, event: CalendarEvent, *, limit: int = 0) -> str | None:
        project: Project | None = _scoped(self.projects.get(event.project_id), event.team_id)
        if project is None or any(h.team_id == event.team_id for h in self.hooks.rows()):
            return None
        if at_cap(self.t.count(event.team_id), limit):
            return None
        _add(self.t, event)
        return project.time_zone

    async def count(self, team_id: int) -> int:
        return self.t.count(team_id)

    async def get(
        self, team_id: int, event_id: int, *, for_update: bool = False
    ) -> CalendarEvent | None:
        return _scoped(self.t.get(event_id), team_id)  # type: ignore[no-any-return]

    async def update(self, event: CalendarEvent) -> None:
        self.t.put(event.id, event)

    async def update_many(self, events: Sequence[CalendarEvent]) -> None:
        for event in events:
            self.t.put(event.id, event)

    async def delete(self, team_id: int, event_id: int) -> bool:
        if _scoped(self.t.peek(event_id), team_id) is None:
            return False
        return self.t.remove(event_id)

    async def list(
        self, query: EventQuery, *, for_update: bool = False, count_limit: int | None = None
    ) -> tuple[builtins.list[CalendarEvent], int]:
        def keep(e: CalendarEvent) -> bool:
            if e.team_id != query.team_id or e.project_id != query.project_id:
                return False
            if query.statuses and e.status not in query.statuses:
                return False
            if query.types and e.type not in query.types:
                return False
            if query.unscheduled and e.scheduled_at is not None:
                return False
            if query.scheduled_from or query.scheduled_to:
                at = e.scheduled_at
                if at is None:
                    return False
                if query.scheduled_from and at < query.scheduled_from:
                    return False
                if query.scheduled_to and at > query.scheduled_to:
                    return False
            return True

        def scheduled(e: CalendarEvent) -> tuple[bool, datetime, int]:
            return (e.scheduled_at is None, e.scheduled_at or e.created_at, e.id)

        rows = sorted(filter(keep, self.t.rows()), key=_by_id if for_update else scheduled)
        items, total = page_of(rows, query.page, query.per_page)
        return items, total if count_limit is None else min(total, count_limit + 1)

    async def day_counts(self, query: DayQuery) -> builtins.list[tuple[date, EventStatus, int]]:
        events = [
            e
            for e in self.t.rows()
            if e.team_id == query.team_id
            and e.project_id == query.project_id
            and e.scheduled_at is not None
        ]
        return [
            (day, e.status, 1)
            for day, low, high in query.days
            for e in events
            if e.scheduled_at is not None and low <= e.scheduled_at <= high
        ]


def _has_tags(query: ImageQuery) -> Callable[[Image], bool]:
    wanted = {tag_key(t) for t in query.tags}
    return lambda i: wanted <= {tag_key(t) for t in i.tags}


def _has_words(query: ImageQuery) -> Callable[[Image], bool]:
    wanted = search.words(query.q or "")
    return lambda i: search.matches(wanted, [i.title, i.prompt, *i.tags])


#: each gallery filter (``rankion_core.reads.IMAGE_FILTERS``) as a test of an image
IMAGE_TESTS: dict[str, Callable[[ImageQuery], Callable[[Image], bool]]] = {
    "model": lambda q: lambda i: i.model == q.model,
    "created_from": lambda q: lambda i: i.created_at >= q.created_from,  # type: ignore[operator]
    "created_to": lambda q: lambda i: i.created_at <= q.created_to,  # type: ignore[operator]
    "favorite": lambda q: lambda i: i.is_favorite == q.favorite,
    "project_id": lambda q: lambda i: i.project_id == q.project_id,
    "statuses": lambda q: lambda i: i.processing_status in q.statuses,
    "tags": _has_tags,
    "q": _has_words,
}
if tuple(IMAGE_TESTS) != IMAGE_FILTERS:
    raise ImportError("the memory backend's image tests differ from IMAGE_FILTERS")


def _image_filter(query: ImageQuery) -> Callable[[Image], bool]:
    tests = [IMAGE_TESTS[name](query) for name in active_filters(query)]

    def keep(i: Image) -> bool:
        return i.team_id == query.team_id and i.deleted_at is None and all(t(i) for t in tests)

    return keep


def _image_order(rows: Iterable[Image], sort: ImageSort) -> builtins.list[Image]:
    if sort is ImageSort.OLDEST:
        return sorted(rows, key=lambda i: (i.created_at, i.id))
    if sort is ImageSort.EDITED:
        # newest edited_at first, never-edited last; ties (and the never-edited) by id
        return sorted(
            rows, key=lambda i: (i.edited_at is not None, i.edited_at or _EPOCH, i.id), reverse=True
        )
    return sorted(rows, key=lambda i: (i.created_at, i.id), reverse=True)


class Images:
    def __init__(
        self, table: Table[Image], shares: Table[Share], chats: Table[ChatSession]
    ) -> None:
        self.t = table
        self.shares = shares
        self.chats = chats

    async def add(self, image: Image) -> Image:
        return _add(self.t, image)  # type: ignore[no-any-return]

    async def get(self, team_id: int, image_id: int, *, for_update: bool = False) -> Image | None:
        # for_update (in each read that takes it): units of work run one at a time here
        return _scoped(self.t.get(image_id), team_id)  # type: ignore[no-any-return]

    async def get_shown(
        self, team_id: int, image_id: int, now: datetime, *, for_update: bool = False
    ) -> tuple[Image, Share | None] | None:
        image = await self.get(team_id, image_id)
        if image is None:
            return None
        return image, await Shares(self.shares, self.t).active_for_image(team_id, image_id, now)

    async def get_many(
        self, team_id: int, ids: Sequence[int], *, for_update: bool = False
    ) -> builtins.list[Image]:
        rows = (self.t.peek(i) for i in set(ids))
        return [clone(r) for r in rows if r is not None and r.team_id == team_id]

    async def update(self, image: Image, *, tags: bool = True, unlocked: bool = False) -> bool:
        self.t.put(image.id, image)  # units of work run one at a time: nothing changed
        return True

    async def toggle_favorite(self, team_id: int, image_id: int, at: datetime) -> bool | None:
        image: Image | None = _scoped(self.t.get(image_id), team_id)
        if image is None:
            return None
        image.is_favorite, image.updated_at = not image.is_favorite, at
        self.t.put(image_id, image)
        return image.is_favorite

    async def delete(self, team_id: int, image_id: int) -> None:
        if _scoped(self.t.peek(image_id), team_id) is None:
            return
        self.t.remove(image_id)
        for table in (self.shares, self.chats):
            for row in table.rows():
                if getattr(row, "image_id", getattr(row, "gallery_image_id", None)) == image_id:
                    table.remove(row.id)

    async def list(self, query: ImageQuery) -> tuple[builtins.list[Image], int]:
        rows = _image_order(filter(_image_filter(query), self.t.rows()), query.sort)
        return page_of(rows, query.page, query.per_page)

    async def list_trash(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[Image], int]:
        rows = sorted(
            (i for i in self.t.rows() if i.team_id == team_id and i.deleted_at is not None),
            key=lambda i: (i.deleted_at, i.id),
            reverse=True,
        )
        return page_of(rows, page, per_page)

    async def tree(
        self, team_id: int, root_id: int, *, for_update: bool = False
    ) -> builtins.list[Image]:
        return [
            clone(i)
            for i in self.t.rows()
            if i.team_id == team_id and (i.id == root_id or i.root_id == root_id)
        ]

    async def set_edited_at(self, team_id: int, ids: Sequence[int], at: datetime) -> None:
        for image_id in ids:
            image = _scoped(self.t.get(image_id), team_id)
            if image is not None:
                image.edited_at = at
                self.t.put(image_id, image)

    async def set_trash(
        self,
        team_id: int,
        ids: Sequence[int],
        deleted_at: datetime | None,
        purge_at: datetime | None,
        at: datetime,
    ) -> None:
        for image_id in set(ids):
            image = _scoped(self.t.get(image_id), team_id)
            if image is not None:
                image.deleted_at, image.purge_at, image.updated_at = deleted_at, purge_at, at
                self.t.put(image_id, image)

    async def due_for_purge(self, now: datetime, limit: int) -> builtins.list[Image]:
        due = sorted(
            (i for i in self.t.rows() if trash.purge_due(i, now)),
            key=lambda i: (i.purge_at, i.id),
        )
        return [clone(i) for i in due[:limit]]

    async def blob_keys(self) -> set[str]:
        return renditions.blob_keys(self.t.rows())

    async def similar(
        self, team_id: int, phash: int, max_distance: int, exclude_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[tuple[Image, int]], int]:
        near = sorted(
            (d, i.id, i)
            for i in self.t.rows()
            if i.team_id == team_id
            and i.deleted_at is None
            and i.phash is not None
            and i.id != exclude_id
            and (d := similar.distance(i.phash, phash)) <= max_distance
        )
        shown = near[(page - 1) * per_page : page * per_page]
        return [(clone(image), d) for d, _, image in shown], len(near)


class EditSessions:
    def __init__(self, table: Table[EditSession]) -> None:
        self.t = table

    async def add(self, session: EditSession) -> EditSession:
        return _add(self.t, session)  # type: ignore[no-any-return]

    async def get(self, team_id: int, session_id: int) -> EditSession | None:
        return _scoped(self.t.get(session_id), team_id)  # type: ignore[no-any-return]


def _claimable(job: Job, now: datetime, kinds: Sequence[JobKind] | None) -> bool:
    if kinds is not None and job.kind not in kinds:
        return False
    if job.status is JobStatus.QUEUED:
        return job.run_after is None or job.run_after <= now
    return job.status is JobStatus.RUNNING and (
        job.lease_expires_at is None or job.lease_expires_at < now
    )


class Jobs:
    def __init__(self, table: Table[Job]) -> None:
        self.t = table

    async def add(self, job: Job) -> Job:
        job.turn = self._turn(lane_of(job.kind), job.team_id)
        return _add(self.t, job)  # type: ignore[no-any-return]

    def _turn(self, lane: Lane, team_id: int) -> int:
        """The next turn of ``team_id`` in ``lane`` (``rules.fairness``)."""
        active = [
            j for j in self.t.rows() if j.status in ACTIVE_JOB_STATUSES and lane_of(j.kind) is lane
        ]
        floor = min((j.turn for j in active), default=None)
        last = max((j.turn for j in active if j.team_id == team_id), default=None)
        return next_turn(floor, last)

    async def get(self, team_id: int, job_id: int) -> Job | None:
        return _scoped(self.t.get(job_id), team_id)  # type: ignore[no-any-return]

    async def get_any(self, job_id: int) -> Job | None:
        return self.t.get(job_id)

    async def claim(
        self,
        worker: str,
        now: datetime,
        lease_until: datetime,
        kinds: Sequence[JobKind] | None = None,
        *,
        skip_teams: Sequence[int] = (),
    ) -> Job | None:
        wanted = list(JobKind) if kinds is None else kinds
        skipped = set(skip_teams)
        first = None
        for _lane, chosen in lanes_of(wanted):
            ready = [
                j for j in self.t.rows() if _claimable(j, now, chosen) and j.team_id not in skipped
            ]
            first = min(ready, key=lambda j: (j.turn, j.id), default=None)
            if first is not None:
                break
        if first is None:
            return None
        job = clone(first)
        job.status, job.attempts = JobStatus.RUNNING, job.attempts + 1
        job.lease_owner, job.lease_expires_at = worker, lease_until
        job.started_at = job.started_at or now
        self.t.put(job.id, job)
        return clone(job)

    def _held(self, job_id: int, attempt: int) -> Job | None:
        job = self.t.get(job_id)
        if job is None or job.status is not JobStatus.RUNNING or job.attempts != attempt:
            return None
        return job

    async def heartbeat(self, job_id: int, attempt: int, lease_until: datetime) -> bool:
        job = self._held(job_id, attempt)
        if job is None:
            return False
        job.lease_expires_at = lease_until
        self.t.put(job_id, job)
        return True

    async def set_payload(self, job_id: int, attempt: int, payload: dict[str, Any]) -> bool:
        job = self._held(job_id, attempt)
        if job is None:
            return False
        job.payload = dict(payload)
        self.t.put(job_id, job)
        return True

    async def finish(self, job: Job, attempt: int) -> bool:
        if self._held(job.id, attempt) is None:
            return False
        stored = clone(job)
        stored.attempts, stored.lease_owner, stored.lease_expires_at = attempt, None, None
        self.t.put(job.id, stored)
        return True

    async def release(
        self, job_id: int, attempt: int, run_after: datetime, error: str | None
    ) -> bool:
        job = self._held(job_id, attempt)
        if job is None:
            return False
        job.turn = self._turn(lane_of(job.kind), job.team_id)
        job.status, job.run_after, job.error = JobStatus.QUEUED, run_after, error
        job.lease_owner, job.lease_expires_at = None, None
        self.t.put(job_id, job)
        return True

    async def count_active(self, team_id: int, kinds: Sequence[JobKind]) -> int:
        return sum(
            1
            for j in self.t.rows()
            if j.team_id == team_id and j.kind in kinds and j.status in ACTIVE_JOB_STATUSES
        )

    async def count_claimable(self, now: datetime) -> int:
        return sum(1 for j in self.t.rows() if _claimable(j, now, None))

    async def active_payloads(self) -> builtins.list[dict[str, Any]]:
        return [dict(j.payload) for j in self.t.rows() if j.status in ACTIVE_JOB_STATUSES]


class Shares:
    def __init__(self, table: Table[Share], images: Table[Image]) -> None:
        self.t = table
        self.images = images

    async def add(self, share: Share) -> Share:
        return _add(self.t, share)  # type: ignore[no-any-return]

    async def active_for_image(self, team_id: int, image_id: int, now: datetime) -> Share | None:
        found = await self.active_for_images(team_id, [image_id], now)
        return found.get(image_id)

    async def active_for_images(
        self, team_id: int, image_ids: Sequence[int], now: datetime
    ) -> dict[int, Share]:
        wanted = set(image_ids)
        return {
            s.image_id: clone(s)
            for s in self.t.rows()
            if s.team_id == team_id and s.image_id in wanted and is_active(s, now)
        }

    async def get_by_token(self, token: str) -> Share | None:
        return next((clone(s) for s in self.t.rows() if s.token == token), None)

    async def update(self, share: Share) -> None:
        self.t.put(share.id, share)

    async def add_views(self, share_id: int, image_id: int, views: int) -> None:
        share = self.t.get(share_id)
        if share is not None:
            share.view_count += views
            self.t.put(share_id, share)
        image = self.images.get(image_id)
        if image is not None:
            image.share_views += views
            self.images.put(image_id, image)


class Chats:
    def __init__(self, table: Table[ChatSession]) -> None:
        self.t = table

    async def add(self, session: ChatSession) -> ChatSession:
        return _add(self.t, session)  # type: ignore[no-any-return]

    async def get(self, team_id: int, session_id: int) -> ChatSession | None:
        return _scoped(self.t.get(session_id), team_id)  # type: ignore[no-any-return]

    async def count(self, team_id: int) -> int:
        return self.t.count(team_id)


class Exports:
    def __init__(self, table: Table[Export]) -> None:
        self.t = table

    async def add(self, export: Export) -> Export:
        self.t.put(export.job_id, export)
        return export

    async def get(self, team_id: int, job_id: int) -> Export | None:
        return _scoped(self.t.get(job_id), team_id)  # type: ignore[no-any-return]

    async def get_any(self, job_id: int) -> Export | None:
        return self.t.get(job_id)

    async def update(self, export: Export) -> None:
        self.t.put(export.job_id, export)

    async def expired(self, now: datetime) -> builtins.list[Export]:
        return [
            clone(e)
            for e in self.t.rows()
            if e.blob_key is not None and e.expires_at is not None and e.expires_at <= now
        ]

    async def blob_keys(self) -> set[str]:
        return {e.blob_key for e in self.t.rows() if e.blob_key}

    async def kept(self, team_id: int, now: datetime) -> tuple[int, datetime | None]:
        kept = [
            e
            for e in self.t.rows()
            if e.team_id == team_id and e.blob_key and e.expires_at and e.expires_at > now
        ]
        first = min((e.expires_at for e in kept if e.expires_at), default=None)
        return sum(e.size_bytes or 0 for e in kept), first


class Ledger:
    def __init__(self, table: Table[LedgerEntry]) -> None:
        self.t = table

    async def add(self, entry: LedgerEntry) -> LedgerEntry:
        return _add(self.t, entry)  # type: ignore[no-any-return]

    async def list(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[LedgerEntry], int]:
        rows = sorted(
            (e for e in self.t.rows() if e.team_id == team_id),
            key=lambda e: (e.created_at, e.id),
            reverse=True,
        )
        return page_of(rows, page, per_page)

    async def total(self, team_id: int) -> int:
        return sum(e.delta for e in self.t.rows() if e.team_id == team_id)

    async def has_entry(self, job_id: int, reason: str) -> bool:
        return any(e.job_id == job_id and e.reason == reason for e in self.t.rows())

    async def job_of_image(self, team_id: int, image_id: int) -> int | None:
        found = [
            e
            for e in self.t.rows()
            if e.team_id == team_id and e.image_id == image_id and e.job_id is not None
        ]
        return max(found, key=lambda e: e.id).job_id if found else None


class Idempotency:
    def __init__(self, table: Table[IdempotencyRecord]) -> None:
        self.t = table

    async def begin(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        existing = self.t.get((record.team_id, record.key))
        if existing is not None:
            return existing
        self.t.put((record.team_id, record.key), record)
        return None

    async def complete(self, record: IdempotencyRecord) -> None:
        self.t.put((record.team_id, record.key), record)

    async def forget(self, team_id: int, key: str) -> None:
        self.t.remove((team_id, key))

    async def purge(self, before: datetime) -> int:
        old = [(r.team_id, r.key) for r in self.t.rows() if r.created_at < before]
        for key in old:
            self.t.remove(key)
        return len(old)
