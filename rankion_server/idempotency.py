"""``Idempotency-Key`` on the POSTs that charge credits or start jobs.

Same key + same request (method, path, canonical JSON body) within 24 h replays the
first stored answer with ``Idempotent-Replayed: true`` and does nothing else; the same
key with another request is ``422 idempotency_key_reused``; while the first request
is still being answered, ``409 idempotency_key_in_flight``. Keys are per team.

The record is created (and committed) in its own short unit of work *before* the
work starts, so a concurrent request sees it in flight; the answer is stored in
another one afterwards. Only ``2xx``, ``404`` and ``409`` answers are stored; after
any other (``402``, ``422``, ``429``, ``5xx``…) the record is forgotten so the client
can fix the request, or wait, and retry with the same key. The body is validated
against the route's body class before the key is claimed, so the fingerprint is taken
of a bounded, well-formed body (and a bad one leaves no trace).
"""

from __future__ import annotations

import functools

from aiohttp import web
from attrs import evolve

from rankion_core import Rankion
from rankion_core.errors import Conflict, RankionError
from rankion_core.models import IdempotencyRecord
from rankion_core.rules.idempotency import Decision, check_key, decide, fingerprint, storable

from .bodies import parse, read_object
from .errors import error_response, one_header, status_of
from .keys import actor, rankion
from .operations import H, Handler, Param, op_of

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
KEPT_HEADERS = ("Location",)

PARAM = Param(
    HEADER,
    {"type": "string", "minLength": 1, "maxLength": 255},
    "replays the first answer to the same request for 24 h; charges nothing more. The "
    "same key with a different request is 422 idempotency_key_reused; while the first "
    "is still being answered, 409 idempotency_key_in_flight",
    where="header",
)


async def _begin(app: Rankion, record: IdempotencyRecord) -> IdempotencyRecord | None:
    """Claim the key (committed at once); the stored record when it is to be replayed."""
    async with app.deps.storage.unit_of_work() as uow:
        existing = await uow.idempotency.begin(record)
        if existing is not None:
            if decide(existing, record.fingerprint, app.deps.clock.now()) is Decision.REPLAY:
                return existing
            await uow.idempotency.forget(record.team_id, record.key)  # expired: start over
            if await uow.idempotency.begin(record) is not None:
                raise Conflict("the key is being used right now", code="idempotency_key_in_flight")
        await uow.commit()
    return None


async def _forget(app: Rankion, record: IdempotencyRecord) -> None:
    async with app.deps.storage.unit_of_work() as uow:
        await uow.idempotency.forget(record.team_id, record.key)
        await uow.commit()


async def _finish(app: Rankion, record: IdempotencyRecord, response: web.Response) -> None:
    body = response.body
    if not storable(response.status) or not isinstance(body, bytes):
        await _forget(app, record)
        return
    done = evolve(
        record,
        completed=True,
        status=response.status,
        body=body,
        headers={k: response.headers[k] for k in KEPT_HEADERS if k in response.headers},
    )
    async with app.deps.storage.unit_of_work() as uow:
        await uow.idempotency.complete(done)
        await uow.commit()


def _replay(record: IdempotencyRecord) -> web.Response:
    return web.Response(
        status=record.status or 200,
        body=record.body,
        content_type="application/json",
        headers={**record.headers, REPLAYED: "true"},
    )


async def _answer(handler: Handler, request: web.Request) -> web.Response:
    """The handler's answer; a storable core error becomes its envelope to be stored."""
    try:
        response = await handler(request)
    except RankionError as exc:
        if not storable(status_of(exc)):
            raise
        return error_response(exc)
    if not isinstance(response, web.Response):
        raise TypeError("an idempotent handler must answer with a web.Response")
    return response


def idempotent(handler: H) -> H:
    """Honour ``Idempotency-Key`` on ``handler`` (apply it below ``@operation``)."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        key = one_header(request, HEADER)
        if key is None:
            return await handler(request)
        check_key(key)
        op = op_of(request.match_info.handler)
        if op is not None and op.body is not None:  # 400/413/422 before anything is stored
            await parse(request, op.body, optional=op.body_optional)
        body = await read_object(request, optional=op is not None and op.body_optional)
        app = rankion(request)
        record = IdempotencyRecord(
            team_id=actor(request).team_id,
            key=key,
            fingerprint=fingerprint(request.method, request.path, body),
            created_at=app.deps.clock.now(),
        )
        stored = await _begin(app, record)
        if stored is not None:
            return _replay(stored)
        try:
            response = await _answer(handler, request)
        except BaseException:
            await _forget(app, record)
            raise
        await _finish(app, record, response)
        return response

    return wrapper  # type: ignore[return-value]
