"""The gallery: list, filter, read, metadata and favourite."""

from __future__ import annotations

from aiohttp import web

from rankion_api.common import EmptyBody, given
from rankion_api.images import (
    FavoriteOut,
    ImageDetailOut,
    ImageOut,
    PatchImageBody,
    SimilarImageOut,
)
from rankion_core.services import ImagePatch

from .. import render
from ..bodies import parse
from ..keys import actor, rankion
from ..operations import operation
from ..query import IMAGE_LIST, PAGING, SIMILAR, image_query, paging, similar_query
from ..responses import ok, page
from .common import path_id, seg

routes = web.RouteTableDef()
TAG = "images"
IMAGE = f"/v1/images/{seg('id')}"


@routes.get("/v1/images", allow_head=False)
@operation(
    "List and filter the team's images",
    TAG,
    response=ImageOut,
    paged=True,
    params=IMAGE_LIST,
    description="Non-trashed images, variants included, each a row of its own.",
)
async def list_images(request: web.Request) -> web.StreamResponse:
    who = actor(request)
    query = image_query(request.query, who.team_id)
    return page(await rankion(request).gallery.list(who, query), render.image_row, plain=True)


@routes.get("/v1/images/trash", allow_head=False)
@operation(
    "List the trash, newest deletion first", TAG, response=ImageOut, paged=True, params=PAGING
)
async def list_trash(request: web.Request) -> web.StreamResponse:
    number, per_page = paging(request.query)
    found = await rankion(request).gallery.trash(actor(request), number, per_page)
    return page(found, render.image_row, plain=True)


@routes.get(IMAGE, allow_head=False)
@operation(
    "Read an image with its variants and parents",
    TAG,
    response=ImageDetailOut,
    description="Trashed images answer too. variants[-1] is the newest edit.",
)
async def get_image(request: web.Request) -> web.StreamResponse:
    detail = await rankion(request).gallery.detail(actor(request), path_id(request))
    return ok(render.image_detail_row(detail), plain=True)


@routes.get(f"{IMAGE}/similar", allow_head=False)
@operation(
    "Find the team's images that look like this one",
    TAG,
    response=SimilarImageOut,
    paged=True,
    params=SIMILAR,
    description="Live, ready images whose perceptual hash (phash) is within max_distance "
    "bits of this image's, closest first (ties by id); the image itself is left out, and "
    "an image not ready yet has none.",
)
async def similar_images(request: web.Request) -> web.StreamResponse:
    distance, number, per_page = similar_query(request.query)
    found = await rankion(request).gallery.similar(
        actor(request), path_id(request), distance, number, per_page
    )
    return page(found, render.similar_row, plain=True)


@routes.patch(IMAGE)
@operation("Change title and tags", TAG, response=ImageOut, body=PatchImageBody)
async def patch_image(request: web.Request) -> web.StreamResponse:
    body = await parse(request, PatchImageBody)
    patch = ImagePatch(
        title=given(body.title), clear_title=body.title is None, tags=given(body.tags)
    )
    view = await rankion(request).gallery.update(actor(request), path_id(request), patch)
    return ok(render.image_row(view), plain=True)


@routes.post(f"{IMAGE}/favorite")
@operation(
    "Toggle the favourite flag", TAG, response=FavoriteOut, body=EmptyBody, body_optional=True
)
async def toggle_favorite(request: web.Request) -> web.StreamResponse:
    await parse(request, EmptyBody, optional=True)
    image_id = path_id(request)
    flag = await rankion(request).gallery.toggle_favorite(actor(request), image_id)
    return ok(FavoriteOut(id=image_id, is_favorite=flag))
