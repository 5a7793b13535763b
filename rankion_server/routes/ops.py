"""Operations: liveness, readiness and the OpenAPI document."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from rankion_api.jobs import HealthOut, ReadyOut

from .. import openapi
from ..convert import dumps
from ..errors import envelope
from ..keys import rankion
from ..logs import kv
from ..operations import operation
from ..responses import ok

routes = web.RouteTableDef()
TAG = "ops"
PING_TIMEOUT = 5.0
log = logging.getLogger("rankion.server")


@routes.get("/healthz", allow_head=False)
@operation("Is the process alive?", TAG, response=HealthOut, public=True)
async def healthz(request: web.Request) -> web.StreamResponse:
    return ok(HealthOut(status="ok"))


async def _check(name: str, ping: Callable[[], Awaitable[None]]) -> str:
    try:
        async with asyncio.timeout(PING_TIMEOUT):
            await ping()
    except Exception as exc:  # any failure means "not ready", never a 500
        log.warning(kv(event="not_ready", check=name, error=type(exc).__name__))
        return "unavailable"
    return "ok"


@routes.get("/readyz", allow_head=False)
@operation(
    "Can it serve? (storage and blob store reachable)",
    TAG,
    response=ReadyOut,
    public=True,
    errors=(503,),
)
async def readyz(request: web.Request) -> web.StreamResponse:
    deps = rankion(request).deps
    checks = {
        "storage": await _check("storage", deps.storage.ping),
        "blobs": await _check("blobs", deps.blobs.ping),
    }
    if all(v == "ok" for v in checks.values()):
        return ok(ReadyOut(status="ready", checks=checks))
    body = envelope("unavailable", "a backend is unreachable", checks)
    return web.Response(status=503, body=body, content_type="application/json")


@routes.get("/v1/openapi.json", allow_head=False)
@operation("This API's OpenAPI 3.1 document", TAG, public=True, media="application/json")
async def openapi_document(request: web.Request) -> web.StreamResponse:
    server = rankion(request).deps.base_url or "/"
    body = dumps(openapi.build(request.app, server))
    return web.Response(body=body, content_type="application/json")


# ``/docs`` (Swagger UI over this document) lives in ``apidocs.py``.
