"""Bulk export to a ZIP: start the job, poll its state."""

from __future__ import annotations

from aiohttp import web

from rankion_api.bulk import ExportBody, ExportOut, ExportStartedOut

from .. import render
from ..bodies import parse
from ..idempotency import PARAM as IDEMPOTENCY_KEY
from ..idempotency import idempotent
from ..keys import actor, rankion
from ..operations import operation
from ..responses import ok
from .common import path_id, seg

routes = web.RouteTableDef()
TAG = "exports"


@routes.post("/v1/images/bulk/export")
@operation(
    "Export up to 500 images as a ZIP",
    TAG,
    status=202,
    response=ExportStartedOut,
    body=ExportBody,
    params=(IDEMPOTENCY_KEY,),
    errors=(409, 429),
    headers=("Location",),
    description="The ZIP holds {id}-{slug}.{ext} per image and manifest.json; "
    "missing, other teams', trashed or unready ids are skipped. A team may have 3 "
    "exports queued or running at once (a setting): past it, 429 with Retry-After.",
)
@idempotent
async def start_export(request: web.Request) -> web.StreamResponse:
    body = await parse(request, ExportBody)
    export = await rankion(request).exports.start(actor(request), body.ids)
    out = ExportStartedOut(job_id=export.job_id, status=export.status)
    return ok(out, status=202, location=f"/v1/images/exports/{export.job_id}")


@routes.get(f"/v1/images/exports/{seg('job_id')}", allow_head=False)
@operation("Read an export's state", TAG, response=ExportOut)
async def get_export(request: web.Request) -> web.StreamResponse:
    view = await rankion(request).exports.status(actor(request), path_id(request, "job_id"))
    return ok(render.export(view))
