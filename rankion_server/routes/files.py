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
from ..streaming import send_blob

routes = web.RouteTableDef()

SIGNATURE = (
    Param("expires", {"type": "integer"}, "unix time the link expires", required=True),
    Param("sig", {"type": "string"}, "HMAC signature", required=True),
)


@routes.get(FILES_PREFIX + "{key:.+}", allow_head=False)
@operation(
    "Download a blob through a signed link",
    "public",
    public=True,
    media="application/octet-stream",
    params=SIGNATURE,
    conditional=True,
    description="Image, thumbnail and export URLs point here when blobs are stored "
    "locally. Export ZIPs come as attachments.",
)
async def download(request: web.Request) -> web.StreamResponse:
    path = FILES_PREFIX + request.match_info["key"]
    query = request.query
    content = await rankion(request).files.open_signed(
        path, query.get("expires", ""), query.get("sig", "")
    )
    headers = {"Cache-Control": f"private, max-age={content.max_age or 0}"}
    if content.filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{content.filename}"'
    try:
        return await send_blob(request, content, headers)
    except NotFound:  # gone since it was opened: the same answer as a bad signature
        raise NotFound("file") from None
