"""Public shares of an image, managed by its team."""

from __future__ import annotations

from aiohttp import web

from rankion_api.common import Unset
from rankion_api.shares import ShareBody, ShareExpiryBody, ShareOut

from .. import render
from ..bodies import parse
from ..keys import actor, rankion
from ..operations import operation
from ..responses import no_content, ok
from .common import path_id, seg

routes = web.RouteTableDef()
TAG = "shares"
SHARE = f"/v1/images/{seg('id')}/share"


@routes.post(SHARE)
@operation(
    "Share an image publicly (idempotent)",
    TAG,
    response=ShareOut,
    body=ShareBody,
    body_optional=True,
    errors=(409,),
    extra={"created_status": 201},
    description="Returns the active share (200) or makes one (201). expires_at in the "
    "body sets the expiry of a new or the existing share; one that is not in the future "
    "is 422.",
)
async def create_share(request: web.Request) -> web.StreamResponse:
    body = await parse(request, ShareBody, optional=True)
    set_expiry = not isinstance(body.expires_at, Unset)
    expires_at = None if isinstance(body.expires_at, Unset) else body.expires_at
    view, created = await rankion(request).shares.share(
        actor(request), path_id(request), expires_at, set_expiry=set_expiry
    )
    return ok(render.share(view), status=201 if created else 200)


@routes.patch(SHARE)
@operation(
    "Change a share's expiry",
    TAG,
    response=ShareOut,
    body=ShareExpiryBody,
    description="404 when the image has no active share; an expires_at that is not in "
    "the future is 422.",
)
async def change_expiry(request: web.Request) -> web.StreamResponse:
    body = await parse(request, ShareExpiryBody)
    view = await rankion(request).shares.set_expiry(
        actor(request), path_id(request), body.expires_at
    )
    return ok(render.share(view))


@routes.delete(SHARE)
@operation(
    "Revoke a share",
    TAG,
    status=204,
    description="404 when the image has no active share; share_views keeps its count.",
)
async def revoke_share(request: web.Request) -> web.StreamResponse:
    await rankion(request).shares.revoke(actor(request), path_id(request))
    return no_content()
