"""The PostgreSQL twin of ``benchmarks.list_baseline``: the least a server can do per page.

    .venv/bin/python -m benchmarks.list_baseline_pg DATABASE_URL PORT [POOL_SIZE]

One aiohttp handler, ``GET /v1/images``: the same page-1 query of team 1 as
``list_baseline`` (50 rows, newest first, trash left out, same columns) through one
``asyncpg`` pool (``POOL_SIZE`` connections, default 5 like SQLAlchemy's pool in the
server), the rows as dicts through ``orjson``. No auth, no URLs, no ``total``. It
imports nothing from Rankion.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import asyncpg
import orjson
from aiohttp import web

from .list_baseline import COLUMNS

PAGE = (
    f"SELECT {COLUMNS} FROM images WHERE team_id = $1 AND deleted_at IS NULL"
    " ORDER BY created_at DESC, id DESC LIMIT 50"
)
POOL = web.AppKey("pool", asyncpg.Pool)


def asyncpg_url(url: str) -> str:
    """``postgresql+asyncpg://…`` (SQLAlchemy's spelling) as asyncpg takes it."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}"


def with_pool(app: web.Application, url: str, pool_size: int) -> web.Application:
    """``app`` with an asyncpg pool of ``pool_size`` connections at ``app[POOL]``
    while it runs."""

    async def pool(app: web.Application) -> AsyncIterator[None]:
        async with asyncpg.create_pool(
            asyncpg_url(url), min_size=pool_size, max_size=pool_size
        ) as opened:
            app[POOL] = opened
            yield

    app.cleanup_ctx.append(pool)
    return app


def make_app(url: str, pool_size: int) -> web.Application:
    async def images(request: web.Request) -> web.Response:
        rows = [dict(row) for row in await request.app[POOL].fetch(PAGE, 1)]
        return web.Response(body=orjson.dumps({"data": rows}), content_type="application/json")

    app = web.Application()
    app.router.add_get("/v1/images", images)
    return with_pool(app, url, pool_size)


if __name__ == "__main__":
    size = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    web.run_app(make_app(sys.argv[1], size), host="127.0.0.1", port=int(sys.argv[2]), print=None)
