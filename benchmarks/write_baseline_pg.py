"""The PostgreSQL twin of ``benchmarks.write_baseline``: the least a server can do per write.

    .venv/bin/python -m benchmarks.write_baseline_pg DATABASE_URL TEAM PROJECT IMAGE PORT

One aiohttp app on one ``asyncpg`` pool of 5 connections (SQLAlchemy's default pool
size, which the server uses), on the server's own database, no auth, no validation,
the same rows as ``write_baseline`` writes on SQLite:

- ``POST /generate``: in one transaction the image row, its tag rows, the job row, the
  conditional charge and the ledger row;
- ``PATCH /image``: one ``UPDATE`` of the image's title;
- ``POST /favorite``: one ``UPDATE`` flipping its favourite flag;
- ``POST /calendar``: one ``INSERT`` of a calendar event.

It imports nothing from Rankion.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import orjson
from aiohttp import web

from .list_baseline_pg import POOL, with_pool
from .write_baseline import COST, TAGS, writes_app

POOL_SIZE = 5

IMAGE = (
    "INSERT INTO images (team_id, prompt, model, size, quality, created_at,"
    " updated_at, output_format, tags, is_favorite, processing_status,"
    " credits_charged, share_views, search_text, background)"
    " VALUES ($1, $2, 'procedural-v1', '256x256', 'auto', $3, $3, 'png', $4, false,"
    " 'queued', $5, 0, $2, 'auto') RETURNING id"
)
TAG = (
    "INSERT INTO image_tags (image_id, tag_lower, team_id, created_at, live)"
    " VALUES ($1, $2, $3, $4, true)"
)
JOB = (
    "INSERT INTO jobs (team_id, kind, status, created_at, payload, attempts,"
    " max_attempts) VALUES ($1, 'generate', 'queued', $2, $3, 0, 3) RETURNING id"
)
CHARGE = "UPDATE teams SET credits = credits - $1 WHERE id = $2 AND credits >= $1 RETURNING credits"
LEDGER = (
    "INSERT INTO ledger_entries (team_id, delta, reason, created_at, image_id, job_id)"
    " VALUES ($1, $2, 'generate', $3, $4, $5)"
)
TITLE = "UPDATE images SET title = $1, updated_at = $2 WHERE id = $3 AND team_id = $4"
FAVORITE = "UPDATE images SET is_favorite = NOT is_favorite WHERE id = $1 AND team_id = $2"
EVENT = (
    "INSERT INTO calendar_events (team_id, project_id, title, type, status,"
    " scheduled_at, created_at, updated_at)"
    " VALUES ($1, $2, $3, 'article', 'planned', $4, $4, $4)"
)


def make_app(url: str, team: int, project: int, image: int) -> web.Application:
    async def generate(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        at = datetime.now(UTC)
        tags = orjson.dumps(TAGS).decode()
        async with request.app[POOL].acquire() as db, db.transaction():
            image_id = await db.fetchval(IMAGE, team, body["prompt"], at, tags, COST)
            await db.executemany(TAG, [(image_id, tag, team, at) for tag in TAGS])
            payload = orjson.dumps({"image_id": image_id}).decode()
            job_id = await db.fetchval(JOB, team, at, payload)
            left = await db.fetchval(CHARGE, COST, team)
            await db.execute(LEDGER, team, -COST, at, image_id, job_id)
        out = {"job_id": job_id, "image_id": image_id, "credits_remaining": left}
        return web.Response(
            status=202, body=orjson.dumps({"data": out}), content_type="application/json"
        )

    async def single(request: web.Request, sql: str, *args: object) -> web.Response:
        await request.app[POOL].execute(sql, *args)
        return web.Response(body=b'{"data":{}}', content_type="application/json")

    async def patch(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        return await single(request, TITLE, body["title"], datetime.now(UTC), image, team)

    async def favorite(request: web.Request) -> web.Response:
        return await single(request, FAVORITE, image, team)

    async def calendar(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        return await single(request, EVENT, team, project, body["title"], datetime.now(UTC))

    return with_pool(writes_app(generate, patch, favorite, calendar), url, POOL_SIZE)


if __name__ == "__main__":
    url, team, project, image, port = sys.argv[1:6]
    app = make_app(url, int(team), int(project), int(image))
    web.run_app(app, host="127.0.0.1", port=int(port), print=None)
