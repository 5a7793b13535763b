"""One class per resource of the contract; every method is one endpoint (or a helper
over several: iterators over pages, waiting, downloading)."""

from __future__ import annotations

import asyncio
import builtins
import time
import warnings
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson

from rankion_core.models import EventStatus
from rankion_core.rules.timeutil import iso_z

from .convert import body, structure
from .errors import ApiWarning, JobFailed
from .http import Http, new_key
from .models import (
    BalanceOut,
    BulkDeleteOut,
    BulkRestoreOut,
    ChatSessionOut,
    CreateEventBody,
    CreateWebhookBody,
    DeliveryOut,
    EditImageBody,
    EditQueuedOut,
    EventOut,
    ExportOut,
    ExportStartedOut,
    FavoriteOut,
    GenerateImageBody,
    ImageDetailOut,
    ImageOut,
    JobEventOut,
    JobOut,
    LedgerEntryOut,
    MetaOut,
    ModelOut,
    Page,
    PatchImageBody,
    ProjectOut,
    QueuedOut,
    ShareBody,
    ShareExpiryBody,
    ShareOut,
    ShiftBody,
    ShiftOut,
    SimilarImageOut,
    TokenOut,
    TrashedOut,
    UpdateEventBody,
    WebhookCreatedOut,
    WebhookOut,
)
from .sse import read_events

T = TypeVar("T")
FINAL_JOB = ("succeeded", "failed")


def _time_text(value: datetime | date | str) -> str:
    if isinstance(value, str):
        return value
    return iso_z(value) if isinstance(value, datetime) else value.isoformat()


def _when(value: datetime | date | str | None) -> str | None:
    return None if value is None else _time_text(value)


def _query(**values: Any) -> list[tuple[str, str]]:
    """Query pairs, None left out; lists repeat, booleans are ``true``/``false``."""
    pairs: list[tuple[str, str]] = []
    for name, value in values.items():
        if value is None:
            continue
        items = value if isinstance(value, list | tuple) else [value]
        pairs.extend((name, str(i).lower() if isinstance(i, bool) else str(i)) for i in items)
    return pairs


class Resource:
    def __init__(self, http: Http) -> None:
        self.http = http

    async def _get(self, path: str, cls: type[T], params: Any = None) -> T:
        return structure((await self.http.call("GET", path, params=params))["data"], cls)

    async def _send(
        self, method: str, path: str, cls: type[T], json: Any = None, key: str | None = None
    ) -> T:
        answer = await self.http.call(method, path, json=json, key=key)
        for said in answer.get("warnings", ()):
            warnings.warn(ApiWarning(said["code"], said["message"]), stacklevel=3)
        return structure(answer["data"], cls)

    async def _page(self, path: str, cls: type[T], params: Any) -> Page[T]:
        answer = await self.http.call("GET", path, params=params)
        items = [structure(row, cls) for row in answer["data"]]
        return Page(items, structure(answer["meta"], MetaOut))

    async def _all(
        self, path: str, cls: type[T], params: list[tuple[str, str]], per_page: int = 100
    ) -> AsyncIterator[T]:
        number = 1
        while True:
            found = await self._page(
                path, cls, [*params, ("page", str(number)), ("per_page", str(per_page))]
            )
            for item in found.items:
                yield item
            if not found.has_next:
                return
            number += 1


async def _until(check: Callable[[], Any], within: float, poll: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while True:
        done = await check()
        if done is not None:
            return done
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not done within {within} s")
        await asyncio.sleep(poll)


class Images(Resource):
    async def models(self) -> builtins.list[ModelOut]:
        """``GET /v1/models``: each model and what it takes (``max_n``, ``partial_images``, …)."""
        rows = (await self.http.call("GET", "/v1/models"))["data"]
        return [structure(row, ModelOut) for row in rows]

    async def generate(
        self, prompt: str, *, idempotency_key: str | None = None, **options: Any
    ) -> QueuedOut:
        """``POST /v1/generate/image`` (5 credits); ``options`` are ``GenerateImageBody``'s."""
        sent = body(GenerateImageBody(prompt=prompt, **options))
        return await self._send(
            "POST", "/v1/generate/image", QueuedOut, sent, idempotency_key or new_key()
        )

    async def edit(
        self, image_id: int, prompt: str, *, idempotency_key: str | None = None, **options: Any
    ) -> EditQueuedOut:
        """``POST /v1/images/{id}/edit`` (10 credits); ``options`` as ``EditImageBody``."""
        sent = body(EditImageBody(prompt=prompt, **options))
        path = f"/v1/images/{image_id}/edit"
        return await self._send("POST", path, EditQueuedOut, sent, idempotency_key or new_key())

    async def get(self, image_id: int) -> ImageDetailOut:
        return await self._get(f"/v1/images/{image_id}", ImageDetailOut)

    async def list(self, *, page: int = 1, per_page: int = 24, **filters: Any) -> Page[ImageOut]:
        """``GET /v1/images``: ``q, model, from_, to, favorite, tags, project_id, status, sort``."""
        params = [*_image_filters(**filters), ("page", str(page)), ("per_page", str(per_page))]
        return await self._page("/v1/images", ImageOut, params)

    def iter(self, **filters: Any) -> AsyncIterator[ImageOut]:
        """Every image matching ``filters``, page after page."""
        return self._all("/v1/images", ImageOut, _image_filters(**filters))

    async def similar(
        self, image_id: int, *, max_distance: int = 8, page: int = 1, per_page: int = 24
    ) -> Page[SimilarImageOut]:
        """``GET /v1/images/{id}/similar``: near duplicates, closest first."""
        params = _query(max_distance=max_distance, page=page, per_page=per_page)
        return await self._page(f"/v1/images/{image_id}/similar", SimilarImageOut, params)

    async def trash(self, *, page: int = 1, per_page: int = 24) -> Page[ImageOut]:
        return await self._page("/v1/images/trash", ImageOut, _query(page=page, per_page=per_page))

    async def patch(self, image_id: int, **fields: Any) -> ImageOut:
        """``PATCH``: ``title`` (None clears it) and/or ``tags``."""
        sent = body(PatchImageBody(**fields))
        return await self._send("PATCH", f"/v1/images/{image_id}", ImageOut, sent)

    async def favorite(self, image_id: int) -> FavoriteOut:
        return await self._send("POST", f"/v1/images/{image_id}/favorite", FavoriteOut, {})

    async def delete(self, image_id: int) -> TrashedOut:
        return await self._send("DELETE", f"/v1/images/{image_id}", TrashedOut)

    async def restore(self, image_id: int) -> ImageOut:
        return await self._send("POST", f"/v1/images/{image_id}/restore", ImageOut, {})

    async def delete_forever(self, image_id: int) -> None:
        await self.http.call("DELETE", f"/v1/images/{image_id}/forever")

    async def bulk_delete(self, ids: builtins.list[int]) -> BulkDeleteOut:
        return await self._send("POST", "/v1/images/bulk/delete", BulkDeleteOut, {"ids": ids})

    async def bulk_restore(self, ids: builtins.list[int]) -> BulkRestoreOut:
        return await self._send("POST", "/v1/images/bulk/restore", BulkRestoreOut, {"ids": ids})

    async def open_in_chat(self, image_id: int) -> ChatSessionOut:
        path = f"/v1/images/{image_id}/open-in-chat"
        return await self._send("POST", path, ChatSessionOut, {})

    async def share(self, image_id: int, **fields: Any) -> ShareOut:
        """The active share, or a new one; ``expires_at`` sets its expiry."""
        sent = body(ShareBody(**fields))
        return await self._send("POST", f"/v1/images/{image_id}/share", ShareOut, sent)

    async def set_share_expiry(self, image_id: int, expires_at: datetime | None) -> ShareOut:
        sent = {"expires_at": _when(expires_at)}
        ShareExpiryBody(expires_at=expires_at)  # the same shape the server checks
        return await self._send("PATCH", f"/v1/images/{image_id}/share", ShareOut, sent)

    async def revoke_share(self, image_id: int) -> None:
        await self.http.call("DELETE", f"/v1/images/{image_id}/share")

    async def wait_ready(
        self, image_id: int, *, within: float = 300.0, poll: float = 0.5
    ) -> ImageDetailOut:
        """The image once ``ready``; ``JobFailed`` when it ends ``failed``."""

        async def check() -> ImageDetailOut | None:
            image = await self.get(image_id)
            if image.processing_status.value == "failed":
                raise JobFailed(f"image {image_id}", image.error)
            return image if image.processing_status.value == "ready" else None

        return await _until(check, within, poll, f"image {image_id}")  # type: ignore[no-any-return]

    async def download(self, image_id: int, to: str | Path) -> Path:
        """Write a ready image's bytes (through its signed URL) to ``to``."""
        image = await self.get(image_id)
        if image.url is None:
            raise JobFailed(f"image {image_id}", "it is not ready")
        return await _save(self.http.download(image.url), Path(to))


def _image_filters(
    *,
    q: str | None = None,
    model: str | None = None,
    from_: datetime | date | str | None = None,
    to: datetime | date | str | None = None,
    favorite: bool | None = None,
    tags: list[str] | None = None,
    project_id: int | None = None,
    status: list[str] | None = None,
    sort: str | None = None,
) -> list[tuple[str, str]]:
    return _query(
        q=q,
        model=model,
        favorite=favorite,
        project_id=project_id,
        sort=sort,
        status=",".join(status) if status else None,
        **{"from": _when(from_), "to": _when(to), "tags[]": tags},
    )


async def _save(chunks: AsyncIterator[bytes], path: Path, progress: Any = None) -> Path:
    written = 0
    with path.open("wb") as out:
        async for chunk in chunks:
            out.write(chunk)
            written += len(chunk)
            if progress is not None:
                progress(written)
    return path


class Exports(Resource):
    async def start(
        self,
        ids: list[int],
        *,
        include_renditions: bool = False,
        idempotency_key: str | None = None,
    ) -> ExportStartedOut:
        """``POST /v1/images/bulk/export`` (1..500 ids); ``include_renditions`` adds each
        image's webp and avif renditions to the ZIP."""
        key = idempotency_key or new_key()
        sent: dict[str, Any] = {"ids": ids}
        if include_renditions:
            sent["include_renditions"] = True
        return await self._send("POST", "/v1/images/bulk/export", ExportStartedOut, sent, key)

    async def get(self, job_id: int) -> ExportOut:
        return await self._get(f"/v1/images/exports/{job_id}", ExportOut)

    async def wait(
        self,
        job_id: int,
        *,
        within: float = 600.0,
        poll: float = 0.5,
        on_progress: Callable[[ExportOut], None] | None = None,
    ) -> ExportOut:
        """The export once ``ready`` (``on_progress`` sees each poll); ``JobFailed`` on failure."""

        async def check() -> ExportOut | None:
            export = await self.get(job_id)
            if on_progress is not None:
                on_progress(export)
            if export.status.value == "failed":
                raise JobFailed(f"export {job_id}", export.error)
            return export if export.status.value == "ready" else None

        return await _until(check, within, poll, f"export {job_id}")  # type: ignore[no-any-return]

    async def download(
        self, job_id: int, to: str | Path, progress: Callable[[int], None] | None = None
    ) -> Path:
        """Stream a ready export's ZIP to ``to``; ``progress`` gets the bytes written so far."""
        export = await self.get(job_id)
        if export.download_url is None:
            raise JobFailed(f"export {job_id}", export.error or "no ZIP to download")
        return await _save(self.http.download(export.download_url), Path(to), progress)


class Jobs(Resource):
    async def get(self, job_id: int) -> JobOut:
        return await self._get(f"/v1/jobs/{job_id}", JobOut)

    async def events(self, job_id: int) -> AsyncIterator[JobEventOut]:
        """The job's states as they happen (Server-Sent Events), until it ends; a stream
        the server ends on its timeout is re-opened."""
        while True:
            async with self.http.stream(f"/v1/jobs/{job_id}/events") as response:
                async for event, data in read_events(response):
                    if event == "job":
                        state = structure(orjson.loads(data), JobEventOut)
                        yield state
                        if state.status.value in FINAL_JOB:
                            return

    async def wait(self, job_id: int) -> JobEventOut:
        """The job's final state (followed live); ``JobFailed`` when it failed."""
        async for state in self.events(job_id):
            if state.status.value == "failed":
                raise JobFailed(f"job {job_id}", state.error)
            if state.status.value == "succeeded":
                return state
        raise AssertionError("the stream ended without a final state")


class Calendar(Resource):
    async def list(
        self,
        project_id: int,
        *,
        from_: datetime | date | str | None = None,
        to: datetime | date | str | None = None,
        status: list[str] | None = None,
        type: list[str] | None = None,
        page: int = 1,
        per_page: int = 100,
    ) -> Page[EventOut]:
        params = _query(
            status=",".join(status) if status else None,
            type=",".join(type) if type else None,
            page=page,
            per_page=per_page,
            **{"from": _when(from_), "to": _when(to)},
        )
        return await self._page(f"/v1/projects/{project_id}/calendar", EventOut, params)

    def iter(self, project_id: int) -> AsyncIterator[EventOut]:
        return self._all(f"/v1/projects/{project_id}/calendar", EventOut, [], per_page=500)

    async def create(self, project_id: int, title: str, **fields: Any) -> EventOut:
        sent = body(CreateEventBody(title=title, **fields))
        return await self._send("POST", f"/v1/projects/{project_id}/calendar", EventOut, sent)

    async def get(self, event_id: int) -> EventOut:
        return await self._get(f"/v1/calendar/{event_id}", EventOut)

    async def update(self, event_id: int, **changes: Any) -> EventOut:
        """Only the fields given change; ``None`` clears a nullable one."""
        sent = body(UpdateEventBody(**changes))
        return await self._send("PUT", f"/v1/calendar/{event_id}", EventOut, sent)

    async def delete(self, event_id: int) -> None:
        await self.http.call("DELETE", f"/v1/calendar/{event_id}")

    async def shift(
        self,
        project_id: int,
        *,
        from_: datetime | date | str,
        to: datetime | date | str,
        days: int,
        statuses: builtins.list[str] | None = None,
    ) -> ShiftOut:
        """Move every event with ``scheduled_at`` in [from_, to] (a date: that whole day
        in the project's zone) by ``days`` whole days, keeping its local time; published
        and cancelled events stay (counted in ``skipped``). All or nothing."""
        only = [EventStatus(s) for s in statuses] if statuses is not None else None
        sent = body(ShiftBody(_time_text(from_), _time_text(to), days, only))
        return await self._send("POST", f"/v1/projects/{project_id}/calendar/shift", ShiftOut, sent)


class Projects(Resource):
    async def list(self, *, page: int = 1, per_page: int = 24) -> Page[ProjectOut]:
        return await self._page("/v1/projects", ProjectOut, _query(page=page, per_page=per_page))

    async def create(self, name: str) -> ProjectOut:
        return await self._send("POST", "/v1/projects", ProjectOut, {"name": name})

    async def get(self, project_id: int) -> ProjectOut:
        return await self._get(f"/v1/projects/{project_id}", ProjectOut)


class Credits(Resource):
    async def balance(self) -> int:
        return (await self._get("/v1/credits", BalanceOut)).balance

    async def ledger(self, *, page: int = 1, per_page: int = 24) -> Page[LedgerEntryOut]:
        params = _query(page=page, per_page=per_page)
        return await self._page("/v1/credits/ledger", LedgerEntryOut, params)


class Tokens(Resource):
    async def list(self, *, page: int = 1, per_page: int = 24) -> Page[TokenOut]:
        """The team's API tokens, oldest first (never their secrets)."""
        return await self._page("/v1/tokens", TokenOut, _query(page=page, per_page=per_page))

    async def revoke(self, token_id: int) -> None:
        """Revoke a token; every server refuses it within 5 s."""
        await self.http.call("DELETE", f"/v1/tokens/{token_id}")


class Chat(Resource):
    async def get(self, session_id: int) -> ChatSessionOut:
        return await self._get(f"/v1/chat/sessions/{session_id}", ChatSessionOut)


class Webhooks(Resource):
    async def create(
        self, url: str, events: list[str], description: str | None = None
    ) -> WebhookCreatedOut:
        """A new webhook; keep its ``secret`` (it is never shown again)."""
        sent = body(CreateWebhookBody(url=url, events=events, description=description))
        return await self._send("POST", "/v1/webhooks", WebhookCreatedOut, sent)

    async def list(self, *, page: int = 1, per_page: int = 24) -> Page[WebhookOut]:
        return await self._page("/v1/webhooks", WebhookOut, _query(page=page, per_page=per_page))

    async def get(self, webhook_id: int) -> WebhookOut:
        return await self._get(f"/v1/webhooks/{webhook_id}", WebhookOut)

    async def delete(self, webhook_id: int) -> None:
        await self.http.call("DELETE", f"/v1/webhooks/{webhook_id}")

    async def deliveries(
        self, webhook_id: int, *, page: int = 1, per_page: int = 24
    ) -> Page[DeliveryOut]:
        params = _query(page=page, per_page=per_page)
        return await self._page(f"/v1/webhooks/{webhook_id}/deliveries", DeliveryOut, params)
