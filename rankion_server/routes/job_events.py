"""``GET /v1/jobs/{job_id}/events``: a job's states as Server-Sent Events.

The stream reads the job from storage every ``events_poll_seconds`` (so a job that a
worker in another process runs is followed just the same) and sends one ``job`` event
whenever its status, attempt, error or export progress changes: ``queued`` →
``running`` (→ ``queued`` again on a retry) → ``succeeded`` | ``failed``. It ends
after the final state. While a job asked for ``partial_images`` runs, each preview
the worker lists in the job is sent once as ``event: preview`` ``{index, url}`` (a
signed link of ``PREVIEW_LINK_SECONDS``), after the state it was read with and before
the final ``job`` event, so the first frame is always the job's current state; a
preview is deleted when its job ends, so a stream that polls after the end sees none. A
comment line keeps idle connections open; after ``events_timeout_seconds`` a
``timeout`` event ends the stream (reconnect to go on). Another team's job is the
same ``404`` as everywhere, before any byte is streamed.

A client that leaves is noticed at the next poll (its connection is checked, not only
written to), so its stream ends within ``events_poll_seconds``, quietly. A team holds
at most ``max_streams_per_team`` open streams in one process (``limits.OpenStreams``);
one more is ``429 rate_limited`` with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from aiohttp import web
from attrs import define

from rankion_api.bulk import ProgressOut
from rankion_api.webhooks import JobEventOut, PreviewEventOut
from rankion_core import Actor, Rankion, RankionError
from rankion_core.errors import NotFound
from rankion_core.models import JobKind, JobStatus
from rankion_core.rules.previews import Preview, previews_of
from rankion_core.services.views import blob_url
from rankion_core.signing import short_expiry

from .. import render
from ..convert import dumps, unstructure
from ..keys import CONFIG, actor, rankion
from ..limits import EVENT_STREAM, OPEN_STREAMS
from ..operations import operation
from .common import path_id, seg

routes = web.RouteTableDef()
FINAL = (JobStatus.SUCCEEDED, JobStatus.FAILED)
#: how long a preview's signed link opens (the preview itself lives until the job ends)
PREVIEW_LINK_SECONDS = 300
DESCRIPTION = (
    "text/event-stream. Each `event: job` carries a JobEvent as `data` (status, attempts, "
    "error, export progress {done, total}); sent on every change, first with the current "
    "state. With partial_images, each preview comes once as `event: preview` with "
    "`{index, url}` (a signed link valid 5 minutes; previews are deleted when the job "
    "ends), before the job's final event. "
    "The stream ends after succeeded or failed; `: keep-alive` comments are sent "
    "while nothing changes; `event: timeout` ends a stream that ran too long. A team holds "
    "at most 20 open streams per server process (`429 rate_limited` with `Retry-After`)."
)


@define(frozen=True)
class Snapshot:
    state: JobEventOut
    previews: list[Preview]


async def snapshot(app: Rankion, who: Actor, job_id: int) -> Snapshot:
    async with app.deps.storage.unit_of_work() as uow:
        job = await uow.jobs.get(who.team_id, job_id)
        export = await uow.exports.get(who.team_id, job_id) if job else None
    if job is None:
        raise NotFound("job")
    progress = ProgressOut(export.done, export.total) if export is not None else None
    if job.kind is JobKind.EXPORT and progress is None:
        progress = ProgressOut(0, 0)
    public = render.job(job)
    state = JobEventOut(
        id=job.id,
        kind=job.kind,
        status=job.status,
        attempts=job.attempts,
        error=job.error,
        progress=progress,
        result=public.result,
        finished_at=job.finished_at,
    )
    return Snapshot(state, previews_of(job.payload))


def preview_event(app: Rankion, preview: Preview) -> PreviewEventOut:
    expires = short_expiry(app.deps.clock.now(), PREVIEW_LINK_SECONDS)
    return PreviewEventOut(index=preview.index, url=blob_url(app.deps, preview.key, expires))


def _frame(event: str, data: Any, seq: int | None = None) -> bytes:
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {event}\ndata: ".encode() + dumps(unstructure(data)) + b"\n\n"


def _key(state: JobEventOut) -> tuple[Any, ...]:
    done = state.progress.done if state.progress else None
    return (state.status, state.attempts, state.error, done)


@routes.get(f"/v1/jobs/{seg('job_id')}/events", allow_head=False)
@operation(
    "Follow a job live (Server-Sent Events)",
    "jobs",
    media=EVENT_STREAM,
    errors=(429,),
    description=DESCRIPTION,
    extra={"event_schema": JobEventOut, "other_events": {"preview": PreviewEventOut}},
)
async def job_events(request: web.Request) -> web.StreamResponse:
    app, who, job_id = rankion(request), actor(request), path_id(request, "job_id")
    first = await snapshot(app, who, job_id)  # 404 before the stream starts
    with request.app[OPEN_STREAMS].hold(who.team_id):  # 429 past the team's limit
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        # a client that left while we wrote: nothing more to say, nobody to say it to
        with contextlib.suppress(ConnectionError):
            await _follow(request, response, lambda: snapshot(app, who, job_id), first)
    return response


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def _follow(
    request: web.Request, response: web.StreamResponse, read: Any, first: Snapshot
) -> None:
    config = request.app[CONFIG]
    app = rankion(request)
    started = last_write = time.monotonic()
    seq, last, shown = 0, None, set[str]()
    current = first
    while True:
        now = time.monotonic()
        state = current.state
        final = state.status in FINAL
        if _key(state) != last and not final:  # the state first (the first frame too) …
            seq, last, last_write = seq + 1, _key(state), now
            await response.write(_frame("job", state, seq))
        for preview in current.previews:  # … then each preview once …
            if preview.key not in shown:
                shown.add(preview.key)
                seq, last_write = seq + 1, now
                await response.write(_frame("preview", preview_event(app, preview), seq))
        if final:  # … and the final state last, which ends the stream
            await response.write(_frame("job", state, seq + 1))
            return
        if now - last_write >= config.events_keepalive_seconds:
            await response.write(b": keep-alive\n\n")
            last_write = now
        if now - started >= config.events_timeout_seconds:
            await response.write(_frame("timeout", {"after_seconds": round(now - started)}))
            return
        await asyncio.sleep(config.events_poll_seconds)
        if _client_gone(request) or request.app[OPEN_STREAMS].closing:
            return  # a stopping server ends its streams: a client reconnects elsewhere
        try:
            current = await read()
        except RankionError as exc:  # storage down or job deleted: say so, then end
            await response.write(_frame("error", {"code": exc.code, "message": exc.message}))
            return
