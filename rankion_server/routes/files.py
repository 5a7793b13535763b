"""Signed downloads of blobs the server serves itself (local and memory stores).

``/files/<key>?expires=…&sig=…`` is what the core signs when the blob store has no
presigned URLs of its own. A bad or expired signature answers the same 404 as a
missing blob: no tell.
"""

from __future__ import annotations

from aiohttp import web

from rankion_core.errors import NotFound
from rankion_core.services.views import FILES_PREFIX

from ..keys import rankion
from ..operations import Param, operation
from ..streaming import content_type_of, send_blob

routes = web.RouteTableDef()

SIGNATURE = (
    Param("expires", {"type": "integer"}, "unix time the link expires", required=True),
    Param("sig", {"type": "string"}, "HMAC signature", required=True),
)
MAX_AGE = 3600


@routes.get(FILES_PREFIX + "{key:.+}", allow_head=False)
@operation(
    "Download a blob through a signed link",
    "public",
    public=True,
    media="application/octet-stream",
    params=SIGNATURE,
    description="Image, thumbnail and export URLs point here when blobs are stored "
    "locally. Export ZIPs come as attachments.",
)
async def download(request: web.Request) -> web.StreamResponse:
    app = rankion(request)
    key = request.match_info["key"]
    expires, sig = request.query.get("expires", ""), request.query.get("sig", "")
    now = app.deps.clock.now()
    if not (expires.isascii() and sig.isascii()) or not app.deps.signer.verify(
        FILES_PREFIX + key, expires, sig, now
    ):
        raise NotFound("file")
    max_age = max(0, min(MAX_AGE, int(expires) - int(now.timestamp())))
    headers = {"Cache-Control": f"private, max-age={max_age}"}
    if key.startswith("exports/"):
        name = key.rsplit("/", 1)[-1]
        headers["Content-Disposition"] = f'attachment; filename="rankion-export-{name}"'
    try:
        return await send_blob(
            request, app.deps.blobs, key, content_type=content_type_of(key), headers=headers
        )
    except NotFound:  # signed but gone: the same answer as a bad signature
        raise NotFound("file") from None
