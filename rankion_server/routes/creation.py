"""Generate and edit: charge, queue a job, answer ``202``."""

from __future__ import annotations

from aiohttp import web

from rankion_api.creation import (
    EditImageBody,
    EditQueuedOut,
    GenerateImageBody,
    QueuedImageOut,
    QueuedOut,
)
from rankion_core.models import ProcessingStatus
from rankion_core.services import EditRequest, GenerateRequest

from ..bodies import parse
from ..idempotency import PARAM as IDEMPOTENCY_KEY
from ..idempotency import idempotent
from ..keys import actor, rankion
from ..limits import rate_limited
from ..operations import operation
from ..responses import ok
from .common import path_id, seg

routes = web.RouteTableDef()
TAG = "images"


@routes.post("/v1/generate/image")
@operation(
    "Generate an image (5 credits)",
    TAG,
    status=202,
    response=QueuedOut,
    body=GenerateImageBody,
    params=(IDEMPOTENCY_KEY,),
    errors=(402, 409, 429),
    headers=("Location",),
    description="Poll Location (the image) or GET /v1/jobs/{job_id} until ready. With n > 1 "
    "each image is its own job (listed in images, the first being image_id/job_id), charged "
    "5 and refunded on its own if it fails. Options are checked against the chosen model's "
    "capabilities (GET /v1/models): a value it does not take is 422 naming the field and the "
    "model.",
)
@idempotent
@rate_limited
async def generate(request: web.Request) -> web.StreamResponse:
    body = await parse(request, GenerateImageBody)
    req = GenerateRequest(
        prompt=body.prompt,
        model=body.model,
        size=body.size,
        quality=body.quality,
        background=body.background,
        output_format=body.output_format,
        title=body.title,
        tags=body.tags,
        project_id=body.project_id,
        article_id=body.article_id,
        slot=body.slot,
        n=body.n,
        output_compression=body.output_compression,
        moderation=body.moderation,
        partial_images=body.partial_images,
    )
    queued = await rankion(request).creation.generate(actor(request), req)
    out = QueuedOut(
        job_id=queued.job_id,
        image_id=queued.image_id,
        processing_status=ProcessingStatus.QUEUED,
        credits_charged=queued.credits_charged,
        credits_remaining=queued.credits_remaining,
        images=[QueuedImageOut(i.image_id, i.job_id) for i in queued.images],
    )
    return ok(out, status=202, location=f"/v1/images/{queued.image_id}")


@routes.post(f"/v1/images/{seg('id')}/edit")
@operation(
    "Edit an image into a new variant (10 credits)",
    TAG,
    status=202,
    response=EditQueuedOut,
    body=EditImageBody,
    params=(IDEMPOTENCY_KEY,),
    errors=(402, 409, 429),
    headers=("Location",),
    description="The source must be ready (409 image_not_ready) and not in the trash "
    "(409 image_in_trash). The original stays byte for byte.",
)
@idempotent
@rate_limited
async def edit(request: web.Request) -> web.StreamResponse:
    body = await parse(request, EditImageBody)
    req = EditRequest(
        prompt=body.prompt,
        edit_session_id=body.edit_session_id,
        mask=body.mask,
        size=body.size,
        quality=body.quality,
        input_fidelity=body.input_fidelity,
        partial_images=body.partial_images,
    )
    queued = await rankion(request).creation.edit(actor(request), path_id(request), req)
    out = EditQueuedOut(
        job_id=queued.job_id,
        edit_session_id=queued.edit_session_id or 0,
        image_id=queued.image_id,
        processing_status=ProcessingStatus.QUEUED,
        credits_charged=queued.credits_charged,
        credits_remaining=queued.credits_remaining,
    )
    return ok(out, status=202, location=f"/v1/images/{queued.image_id}")
