"""``GET /metrics``: Prometheus text format.

Public by default, like ``/healthz``: it holds no team's data (no team ids, no raw
paths, no tokens), only route templates and counts. Set ``RANKION_METRICS_TOKEN`` to
make it need ``Authorization: Bearer <that token>`` (Prometheus: ``authorization:
credentials``), for deployments where the port is reachable from outside.
"""

from __future__ import annotations

import hmac

from aiohttp import web

from ..auth import bearer_token
from ..errors import Unauthorized
from ..keys import CONFIG, rankion
from ..metrics import CONTENT_TYPE, METRICS
from ..operations import operation

routes = web.RouteTableDef()


def _check_token(request: web.Request) -> None:
    expected = request.app[CONFIG].metrics_token
    if expected and not hmac.compare_digest(bearer_token(request).encode(), expected.encode()):
        raise Unauthorized("the metrics token is not valid")


@routes.get("/metrics", allow_head=False)
@operation(
    "Prometheus metrics",
    "ops",
    public=True,
    media="text/plain",
    errors=(401,),
    description="Requests and latency by route template and status, jobs by kind and "
    "status, queue depth, provider latency. Needs a bearer token only when the "
    "deployment sets RANKION_METRICS_TOKEN.",
)
async def metrics(request: web.Request) -> web.StreamResponse:
    _check_token(request)
    collected = request.app[METRICS]
    await collected.refresh(rankion(request))
    return web.Response(body=collected.exposition(), headers={"Content-Type": CONTENT_TYPE})
