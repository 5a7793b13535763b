"""Rankion in sync Django views: one ``SyncRankion`` per process owns the event loop the
services (and the worker pool) run on; each view hands it a call and waits.

Who is asking is your app's business (``request.user`` and a team of theirs); here the
``X-Team`` header stands in for it.
"""

import atexit
import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods

from rankion_core import Actor, Deps, HmacUrlSigner, Invalid, Rankion, RankionError
from rankion_core.errors import InsufficientCredits, NotFound, RateLimited, Unavailable
from rankion_core.ports import ImageQuery
from rankion_core.services import BlobContent, GenerateRequest, ImageView
from rankion_core.sync import SyncRankion
from rankion_core.workers import WorkerPool
from rankion_fsspec import open_blob_store
from rankion_procedural import PillowCodec, ProceduralProvider
from rankion_sqlalchemy import open_storage

pool = WorkerPool(size=2, poll_seconds=0.5)


async def open_rankion() -> Rankion:  # runs on the facade's loop, which owns the pool
    storage = open_storage(f"sqlite:///{settings.GALLERY_DATA / 'gallery.db'}")
    await storage.migrate()
    deps = Deps(
        storage=storage,
        blobs=open_blob_store(str(settings.GALLERY_DATA / "blobs")),
        provider=ProceduralProvider(),
        codec=PillowCodec(),
        signer=HmacUrlSigner(settings.GALLERY_SECRET, settings.GALLERY_URL),
    )
    return Rankion(deps, hooks=pool.hooks())


core = SyncRankion(open_rankion, workers=pool, timeout=60)
atexit.register(core.close)
rankion = core.rankion
STATUS = {NotFound: 404, Invalid: 422, InsufficientCredits: 402, RateLimited: 429, Unavailable: 503}
View = Callable[..., HttpResponse]


def answers_errors(view: View) -> View:
    def wrapped(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except RankionError as error:
            status = next((s for kind, s in STATUS.items() if isinstance(error, kind)), 409)
            return JsonResponse({"code": error.code, "message": error.message}, status=status)

    return wrapped


def actor(request: HttpRequest) -> Actor:
    team = request.headers.get("X-Team", "")
    if not (team.isascii() and team.isdigit() and 0 < len(team) < 10):
        raise Invalid("X-Team must be a team id")
    return Actor(team_id=int(team))


def shown(view: ImageView) -> dict[str, object]:
    image = view.image
    return {"id": image.id, "prompt": image.prompt, "status": image.processing_status,
            "url": view.url, "thumbnail_url": view.thumbnail_url}  # fmt: skip


def streamed(content: BlobContent) -> StreamingHttpResponse:
    response = StreamingHttpResponse(core.iterate(content.chunks()), content.content_type)
    response["ETag"] = f'"{content.etag}"'
    if content.size is not None:
        response["Content-Length"] = str(content.size)
    if content.max_age is not None:
        response["Cache-Control"] = f"private, max-age={content.max_age}"
    return response


@require_http_methods(["GET", "POST"])
@answers_errors
def images(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    if request.method == "POST":
        try:
            body = json.loads(request.body)
            wanted = GenerateRequest(str(body["prompt"]), size=body.get("size"))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise Invalid("the body must be JSON with a prompt") from None
        queued = core.call(rankion.creation.generate, me, wanted)
        return JsonResponse({"id": queued.image_id}, status=202)
    page = core.call(rankion.gallery.list, me, ImageQuery(team_id=me.team_id))
    return JsonResponse([shown(view) for view in page.items], safe=False)


@require_GET
@answers_errors
def image(request: HttpRequest, image_id: int) -> HttpResponse:
    return JsonResponse(shown(core.call(rankion.gallery.get, actor(request), image_id)))


@require_GET
@answers_errors
def image_bytes(request: HttpRequest, image_id: int) -> HttpResponse:
    variant = request.GET.get("variant", "original")
    return streamed(core.call(rankion.files.open, actor(request), image_id, variant))


@require_GET
@answers_errors
def signed_file(request: HttpRequest, key: str) -> HttpResponse:
    expires, sig = request.GET.get("expires", ""), request.GET.get("sig", "")
    return streamed(core.call(rankion.files.open_signed, f"/files/{key}", expires, sig))


urlpatterns = [
    path("images", images),
    path("images/<int:image_id>", image),
    path("images/<int:image_id>/bytes", image_bytes),
    path("files/<path:key>", signed_file),
]
