"""The yardstick of ``benchmarks.list_endpoint``: the least a server can do per page.

    .venv/bin/python -m benchmarks.list_baseline DB_FILE PORT

One aiohttp handler, ``GET /v1/images``: the default page-1 query of team 1 (50 rows,
newest first, trash left out) with the blocking stdlib ``sqlite3`` on one connection,
the rows as dicts through ``orjson``. No auth, no URLs, no ``total``.
"""

from __future__ import annotations

import sqlite3
import sys

import orjson
from aiohttp import web

COLUMNS = (
    "id, team_id, project_id, title, prompt, model, size, quality, output_format, tags,"
    " is_favorite, processing_status, blob_key, thumbnail_key, parent_id, root_id,"
    " credits_charged, share_views, created_at, updated_at, edited_at, deleted_at"
)
PAGE = (
    f"SELECT {COLUMNS} FROM images WHERE team_id = ? AND deleted_at IS NULL"
    " ORDER BY created_at DESC, id DESC LIMIT 50"
)


def make_app(path: str) -> web.Application:
    db = sqlite3.connect(path, check_same_thread=False)
    db.row_factory = sqlite3.Row

    async def images(_request: web.Request) -> web.Response:
        rows = [dict(row) for row in db.execute(PAGE, (1,))]
        return web.Response(body=orjson.dumps({"data": rows}), content_type="application/json")

    app = web.Application()
    app.router.add_get("/v1/images", images)
    return app


if __name__ == "__main__":
    web.run_app(make_app(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), print=None)
