"""The app's CSS and ES modules, served from the package with long-lived caching; the
icon also at ``/favicon.ico`` (where the browser looks on a page that names no icon,
such as a public share); and the headers every app page carries (a strict
Content-Security-Policy: scripts, styles and connections only from this origin; no
inline script, no ``eval``)."""

from __future__ import annotations

import hashlib
from importlib import resources

from aiohttp import web
from attrs import define

from ..operations import operation

#: on every page and asset of the app
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data: blob: https: http:; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}


@define(frozen=True)
class Asset:
    body: bytes
    content_type: str
    version: str


def _load() -> dict[str, Asset]:
    found: dict[str, Asset] = {}
    for entry in resources.files(__package__).joinpath("static").iterdir():
        suffix = entry.name[entry.name.rfind(".") :]
        if entry.is_file() and suffix in TYPES:
            body = entry.read_bytes()
            version = hashlib.sha256(body).hexdigest()[:12]
            found[entry.name] = Asset(body, TYPES[suffix], version)
    return found


ASSETS = _load()
ICON = "icon.svg"


def asset_url(name: str) -> str:
    """The versioned URL of an asset (cached for a year: a new body is a new URL)."""
    return f"/app/static/{name}?v={ASSETS[name].version}"


routes = web.RouteTableDef()


@routes.get("/app/static/{name}", allow_head=False)
@operation(
    "The app's CSS and ES modules", "web", public=True, media="text/javascript", conditional=True
)
async def static_asset(request: web.Request) -> web.StreamResponse:
    found = ASSETS.get(request.match_info["name"])
    if found is None:
        raise web.HTTPNotFound()
    return _send(request, found)


@routes.get("/favicon.ico", allow_head=False)
@operation(
    "The app's icon, where browsers look for it",
    "web",
    public=True,
    media="image/svg+xml",
    conditional=True,
)
async def favicon(request: web.Request) -> web.StreamResponse:
    return _send(request, ASSETS[ICON])


def _send(request: web.Request, found: Asset) -> web.Response:
    headers = dict(HEADERS)
    etag = f'"{found.version}"'
    headers["ETag"] = etag
    if request.query.get("v") == found.version:
        headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        headers["Cache-Control"] = "no-cache"
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=found.body, content_type=found.content_type, headers=headers)
