"""The public side of shares: the HTML page and the image bytes. No token needed;
each GET of either counts one view.

Revocation reaches every link: ``og:image`` is ``/s/{token}/image``, which checks the
share on every request, and the page shows the image through a signed link that dies
within ``share_link_seconds`` (60 s by default). A revoked, expired or trashed share
thus stops answering everywhere within that bound.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from aiohttp import web

from rankion_core.errors import NotFound
from rankion_core.rules.media import etag_of
from rankion_core.services.files import image_content
from rankion_core.services.views import blob_url
from rankion_core.signing import short_expiry

from .. import sharepage
from ..keys import CONFIG, rankion
from ..operations import operation
from ..streaming import not_modified, send_blob

routes = web.RouteTableDef()
TAG = "public"


def _page_url(request: web.Request, token: str) -> str:
    base = rankion(request).deps.base_url or str(request.url.origin())
    return f"{base}/s/{quote(token, safe='')}"


#: rendered pages kept per process: a page is a few KB (its texts are shortened), and
#: the same share's page is the same bytes until its signed image link moves on
PAGES_KEPT = 256


@lru_cache(maxsize=PAGES_KEPT)
def _rendered(data: sharepage.PageData) -> tuple[bytes, str]:
    """The page's bytes and their entity tag."""
    body = sharepage.render(data).encode()
    return body, etag_of(body)


def _not_found_page() -> web.Response:
    return web.Response(
        status=404,
        text=sharepage.NOT_FOUND_HTML,
        content_type="text/html",
        headers=sharepage.HEADERS,
    )


@routes.get("/s/{token}", allow_head=False)
@operation(
    "Public share page",
    TAG,
    public=True,
    media="text/html",
    conditional=True,
    description="An HTML page with Open Graph tags. Unknown, revoked, expired or trashed: "
    "the same HTML 404 page.",
)
async def public_share_page(request: web.Request) -> web.StreamResponse:
    app = rankion(request)
    try:
        shared = await app.shares.view(request.match_info["token"])
    except NotFound:
        return _not_found_page()
    expires = short_expiry(app.deps.clock.now(), request.app[CONFIG].share_link_seconds)
    image_url = blob_url(app.deps, shared.image.public_blob_key or "", expires)
    page_url = _page_url(request, shared.share.token)
    data = sharepage.page_data(shared.image, image_url=image_url, page_url=page_url)
    body, etag = _rendered(data)
    headers = {**sharepage.HEADERS, "ETag": f'"{etag}"'}
    if not_modified(request, etag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="text/html", charset="utf-8", headers=headers)


@routes.get("/s/{token}/image", allow_head=False)
@operation(
    "Public shared image",
    TAG,
    public=True,
    media="image/*",
    conditional=True,
    description="The image bytes; 404 like the page. The share is checked before a 304.",
)
async def public_share_image(request: web.Request) -> web.StreamResponse:
    app = rankion(request)
    shared = await app.shares.view(request.match_info["token"])
    content = image_content(app.deps.blobs, shared.image, "public")
    return await send_blob(request, content, {"Cache-Control": "no-cache"})
