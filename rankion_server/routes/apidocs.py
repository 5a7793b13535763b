"""``/docs``: Swagger UI over ``/v1/openapi.json``, its assets served by this server.

The viewer's files come from the ``swagger-ui-py`` wheel (Swagger UI 5, which reads
OpenAPI 3.1), found on disk without importing that package; nothing is fetched from
a CDN. Only the files the page uses are served, by name.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from aiohttp import web

from rankion_core.errors import NotFound, Unavailable

from ..operations import operation

routes = web.RouteTableDef()
TAG = "ops"
VIEWER_PACKAGE = "swagger_ui"
#: name in the URL → file in the viewer's ``static`` folder (or ours)
VIEWER_FILES = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png")
OWN_FILES = {"rankion-docs.js": Path(__file__).resolve().parent.parent / "apidocs.js"}
ASSET_HEADERS = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; font-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Rankion API reference</title>
<link rel="icon" type="image/png" href="docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="docs/assets/swagger-ui.css">
</head>
<body>
<noscript><p>The machine-readable contract is <a href="v1/openapi.json">/v1/openapi.json</a>.
</p></noscript>
<div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script>
<script src="docs/assets/rankion-docs.js"></script>
</body>
</html>
"""


@functools.cache
def viewer_folder() -> Path | None:
    """The viewer's ``static`` folder, or None when the package is not installed."""
    spec = importlib.util.find_spec(VIEWER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def asset_path(name: str) -> Path:
    if name in OWN_FILES:
        return OWN_FILES[name]
    if name not in VIEWER_FILES:
        raise NotFound("asset")
    folder = viewer_folder()
    if folder is None:
        raise Unavailable("the docs viewer is not installed: pip install swagger-ui-py")
    return folder / name


@routes.get("/docs", allow_head=False)
@operation("The API reference page (Swagger UI)", TAG, public=True, media="text/html")
async def docs(request: web.Request) -> web.StreamResponse:
    return web.Response(text=PAGE, content_type="text/html", headers=PAGE_HEADERS)


@routes.get("/docs/assets/{name}", allow_head=False)
@operation(
    "A file of the API reference page",
    TAG,
    public=True,
    media="*/*",
    conditional=True,
    description="Swagger UI's script, style sheet and icon, and the page's own script "
    "(each with its own content type).",
)
async def docs_asset(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(asset_path(request.match_info["name"]), headers=ASSET_HEADERS)
