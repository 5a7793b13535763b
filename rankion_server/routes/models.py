"""``GET /v1/models``: what each of the provider's models takes, as it declares it."""

from __future__ import annotations

from aiohttp import web

from rankion_api.creation import ModelOut

from .. import render
from ..keys import rankion
from ..operations import operation
from ..responses import ok

routes = web.RouteTableDef()


@routes.get("/v1/models", allow_head=False)
@operation(
    "List the image models and what each takes",
    "images",
    response=ModelOut,
    listed=True,
    description="The provider's own declaration: sizes, qualities, output formats, the most "
    "images per request (max_n), edits and masks, previews (partial_images), input_fidelity, "
    "moderation and output_compression. A request asking a model for more is 422 naming "
    "the field and the model.",
)
async def models(request: web.Request) -> web.StreamResponse:
    provider = rankion(request).deps.provider
    default = provider.default_model
    return ok([render.model(m, default) for m in provider.capabilities])
