"""Trash: soft delete, restore, delete forever, and the bulk forms."""

from __future__ import annotations

from aiohttp import web

from rankion_api.bulk import BulkDeleteOut, BulkIdsBody, BulkRestoreOut
from rankion_api.common import EmptyBody
from rankion_api.images import ImageOut, TrashedOut

from .. import render
from ..bodies import parse
from ..keys import actor, rankion
from ..operations import operation
from ..responses import no_content, ok
from .common import path_id, seg

routes = web.RouteTableDef()
TAG = "trash"
IMAGE = f"/v1/images/{seg('id')}"


@routes.delete(IMAGE)
@operation(
    "Move an image to the trash",
    TAG,
    response=TrashedOut,
    description="Kept 30 days, then purged. Again on a trashed image: the same answer. "
    "Its variants stay where they are.",
)
async def delete_image(request: web.Request) -> web.StreamResponse:
    image = await rankion(request).gallery.delete(actor(request), path_id(request))
    return ok(TrashedOut(id=image.id, deleted_at=image.deleted_at, purge_at=image.purge_at))


@routes.post(f"{IMAGE}/restore")
@operation(
    "Restore an image from the trash",
    TAG,
    response=ImageOut,
    body=EmptyBody,
    body_optional=True,
    errors=(409,),
)
async def restore_image(request: web.Request) -> web.StreamResponse:
    await parse(request, EmptyBody, optional=True)
    view = await rankion(request).gallery.restore(actor(request), path_id(request))
    return ok(render.image_row(view), plain=True)


@routes.delete(f"{IMAGE}/forever")
@operation(
    "Delete a trashed image for good",
    TAG,
    status=204,
    errors=(409,),
    description="Only from the trash (409 not_in_trash). Its direct variants move to its "
    "parent (or become roots); its blobs are removed.",
)
async def delete_forever(request: web.Request) -> web.StreamResponse:
    await rankion(request).gallery.delete_forever(actor(request), path_id(request))
    return no_content()


@routes.post("/v1/images/bulk/delete")
@operation(
    "Move up to 200 images to the trash",
    TAG,
    response=BulkDeleteOut,
    body=BulkIdsBody,
    description="One transaction; other teams' ids are reported in not_found.",
)
async def bulk_delete(request: web.Request) -> web.StreamResponse:
    body = await parse(request, BulkIdsBody)
    result = await rankion(request).gallery.bulk_delete(actor(request), body.ids)
    return ok(
        BulkDeleteOut(
            deleted=result.deleted,
            already_in_trash=result.already_in_trash,
            not_found=result.not_found,
        )
    )


@routes.post("/v1/images/bulk/restore")
@operation(
    "Restore up to 200 images",
    TAG,
    response=BulkRestoreOut,
    body=BulkIdsBody,
    description="One transaction; other teams' ids are reported in not_found.",
)
async def bulk_restore(request: web.Request) -> web.StreamResponse:
    body = await parse(request, BulkIdsBody)
    result = await rankion(request).gallery.bulk_restore(actor(request), body.ids)
    return ok(
        BulkRestoreOut(
            restored=result.restored,
            not_in_trash=result.not_in_trash,
            not_found=result.not_found,
        )
    )
