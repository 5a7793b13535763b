"""The yardstick of ``benchmarks.share_page``: the least a server can do per view.

    .venv/bin/python -m benchmarks.share_baseline PAGE_FILE IMAGE_FILE PORT

One aiohttp app: ``GET /page`` answers the bytes of ``PAGE_FILE`` (read once) as HTML,
``GET /image`` aiohttp's ``FileResponse`` of ``IMAGE_FILE``. No lookup, no counting.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aiohttp import web


def make_app(page: Path, image: Path) -> web.Application:
    body = page.read_bytes()

    async def html(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    async def file(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(image)

    app = web.Application()
    app.router.add_get("/page", html)
    app.router.add_get("/image", file)
    return app


if __name__ == "__main__":
    app = make_app(Path(sys.argv[1]), Path(sys.argv[2]))
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[3]), print=None)
