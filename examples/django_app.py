"""A Django app with Rankion as a library, from plain synchronous views.

The core is async; ``SyncRankion`` runs it on one event loop in a thread of its own
(with the worker pool), and each view hands its call over and waits. One file here;
in a project the settings go to ``settings.py`` and the views to an app. Your own
authentication decides the team: here an ``X-Team`` header stands in for it.

    EXAMPLE_DATA=./django-data gunicorn --threads 8 examples.django_app   # any WSGI server
"""

from __future__ import annotations

import atexit
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path, register_converter
from django.views.decorators.http import require_GET, require_http_methods

from rankion_core import Actor, Deps, HmacUrlSigner, Rankion
from rankion_core.errors import Invalid, RankionError, http_status
from rankion_core.ports import ImageQuery
from rankion_core.rules.limits import ID_MAX
from rankion_core.services import GenerateRequest
from rankion_core.services.files import BlobContent
from rankion_core.services.views import ImageView
from rankion_core.sync import SyncRankion
from rankion_core.workers import WorkerPool
from rankion_fsspec import open_blob_store
from rankion_procedural import PillowCodec, ProceduralProvider
from rankion_sqlalchemy import open_storage

DATA = Path(os.environ.get("EXAMPLE_DATA", "./django-data"))
DATA.mkdir(parents=True, exist_ok=True)
PUBLIC_URL = os.environ.get("EXAMPLE_URL", "http://127.0.0.1:8000")
SECRET = os.environ.get("EXAMPLE_SECRET", "change me: at least 16 bytes").encode()

settings.configure(
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["127.0.0.1", "localhost", "testserver"],
    SECRET_KEY=SECRET.decode(),
    MIDDLEWARE=[],  # an API with its own auth; keep Django's CSRF for cookie sessions
)
django.setup()

pool = WorkerPool(size=2)


async def build() -> Rankion:
    """Run on the facade's loop: the connections it opens belong to that loop."""
    storage = open_storage(f"sqlite+aiosqlite:///{DATA / 'rankion.db'}")
    await storage.migrate()
    deps = Deps(
        storage=storage,
        blobs=open_blob_store(str(DATA / "blobs")),
        provider=ProceduralProvider(),
        codec=PillowCodec(),
        signer=HmacUrlSigner(SECRET, PUBLIC_URL),  # links point at this app's /files/…
    )
    return Rankion(deps, hooks=pool.hooks())


rankion = SyncRankion(build, workers=pool, timeout=30)
atexit.register(rankion.close)  # stops the workers, closes the database
core = rankion.rankion


View = Callable[..., HttpResponse]


def api(view: View) -> View:
    """Rankion's errors as JSON with their HTTP status; 404s never echo the id."""

    def run(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except RankionError as exc:
            error = {"code": exc.code, "message": exc.message}
            return JsonResponse({"error": error}, status=http_status(exc))

    return run


class IdConverter:
    """Ids are bounded before they reach the core, as the reference server does:
    one past the largest is no image at all (Django answers 404)."""

    regex = "[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        if int(value) > ID_MAX:
            raise ValueError(value)
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


def actor(request: HttpRequest) -> Actor:
    team = request.headers.get("X-Team", "")
    if not (team.isascii() and team.isdigit() and len(team) < 20 and 0 < int(team) <= ID_MAX):
        raise Invalid("the X-Team header must be a team id")
    return Actor(team_id=int(team))  # stands in for your own login


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object; anything else is a 422, not a 500."""
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise Invalid("the body must be JSON") from None
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    return body


@require_http_methods(["POST"])
@api
def teams(request: HttpRequest) -> HttpResponse:
    body = json_body(request)
    name, credits = body.get("name"), body.get("credits", 100)
    if not isinstance(name, str) or type(credits) is not int:
        raise Invalid("a team needs a name (a string) and credits (an integer)")
    team = rankion.call(core.accounts.create_team, name, credits)
    return JsonResponse({"id": team.id}, status=201)


@require_http_methods(["GET", "POST"])
@api
def images(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    if request.method == "POST":
        prompt = str(json_body(request).get("prompt", ""))
        queued = rankion.call(core.creation.generate, me, GenerateRequest(prompt))
        return JsonResponse({"image_id": queued.image_id, "job_id": queued.job_id}, status=202)
    query = ImageQuery(team_id=me.team_id, q=request.GET.get("q") or None)
    page = rankion.call(core.gallery.list, me, query)
    return JsonResponse({"total": page.total, "items": [view_of(v) for v in page.items]})


@require_GET
@api
def image(request: HttpRequest, image_id: int) -> HttpResponse:
    detail = rankion.call(core.gallery.detail, actor(request), image_id)
    return JsonResponse(view_of(detail.view))


@require_GET
@api
def image_bytes(request: HttpRequest, image_id: int, variant: str) -> HttpResponse:
    """``original``, ``thumbnail`` or a rendition (``webp-512``), for the team only."""
    return stream(rankion.call(core.files.open, actor(request), image_id, variant))


@require_GET
@api
def signed_file(request: HttpRequest, key: str) -> HttpResponse:
    """Where the links in ``url`` and ``thumbnail_url`` lead: no login, a signature."""
    expires, sig = request.GET.get("expires", ""), request.GET.get("sig", "")
    blob = rankion.call(core.files.open_signed, f"/files/{key}", expires, sig)
    return stream(blob, cache=f"private, max-age={blob.max_age or 0}")


def stream(blob: BlobContent, cache: str = "private, no-cache") -> StreamingHttpResponse:
    """The bytes, read chunk by chunk on the facade's loop as the server sends them."""
    response = StreamingHttpResponse(rankion.iterate(blob.chunks()), blob.content_type)
    response["ETag"], response["Cache-Control"] = f'"{blob.etag}"', cache
    if blob.size is not None:
        response["Content-Length"] = str(blob.size)
    if blob.filename:
        response["Content-Disposition"] = f'attachment; filename="{blob.filename}"'
    return response


def view_of(view: ImageView) -> dict[str, Any]:
    return {
        "id": view.image.id,
        "prompt": view.image.prompt,
        "status": view.image.processing_status.value,
        "url": view.url,
        "thumbnail_url": view.thumbnail_url,
    }


urlpatterns = [
    path("teams", teams),
    path("images", images),
    path("images/<id:image_id>", image),
    path("images/<id:image_id>/<str:variant>", image_bytes),
    path("files/<path:key>", signed_file),
]

application = get_wsgi_application()
