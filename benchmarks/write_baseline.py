"""The yardstick of ``benchmarks.write_path``: the least a server can do per write.

    .venv/bin/python -m benchmarks.write_baseline DB_FILE TEAM PROJECT IMAGE PORT

One aiohttp app on one blocking stdlib ``sqlite3`` connection (WAL, ``synchronous
NORMAL``, as the server's), on the server's own database file, no auth, no validation:

- ``POST /generate``: in one ``BEGIN IMMEDIATE`` transaction the image row, its tag
  rows, the job row, the conditional charge and the ledger row (the same rows
  ``POST /v1/generate/image`` writes);
- ``PATCH /image``: one ``UPDATE`` of the image's title;
- ``POST /favorite``: one ``UPDATE`` flipping its favourite flag;
- ``POST /calendar``: one ``INSERT`` of a calendar event.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson
from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.Response]]

COST = 5
TAGS = ("bench", "write")


def make_app(path: str, team: int, project: int, image: int) -> web.Application:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=5000", "synchronous=NORMAL"):
        db.execute(f"PRAGMA {pragma}")

    def now() -> str:
        return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    async def generate(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        at = now()
        db.execute("BEGIN IMMEDIATE")
        try:
            image_id = db.execute(
                "INSERT INTO images (team_id, prompt, model, size, quality, created_at,"
                " updated_at, output_format, tags, is_favorite, processing_status,"
                " credits_charged, share_views, search_text, background)"
                " VALUES (?, ?, 'procedural-v1', '256x256', 'auto', ?, ?, 'png', ?, 0,"
                " 'queued', ?, 0, ?, 'auto')",
                (team, body["prompt"], at, at, orjson.dumps(TAGS).decode(), COST, body["prompt"]),
            ).lastrowid
            db.executemany(
                "INSERT INTO image_tags (image_id, tag_lower, team_id, created_at, live)"
                " VALUES (?, ?, ?, ?, 1)",
                [(image_id, tag, team, at) for tag in TAGS],
            )
            job_id = db.execute(
                "INSERT INTO jobs (team_id, kind, status, created_at, payload, attempts,"
                " max_attempts) VALUES (?, 'generate', 'queued', ?, ?, 0, 3)",
                (team, at, orjson.dumps({"image_id": image_id}).decode()),
            ).lastrowid
            left = db.execute(
                "UPDATE teams SET credits = credits - ? WHERE id = ? AND credits >= ?"
                " RETURNING credits",
                (COST, team, COST),
            ).fetchone()
            db.execute(
                "INSERT INTO ledger_entries (team_id, delta, reason, created_at, image_id,"
                " job_id) VALUES (?, ?, 'generate', ?, ?, ?)",
                (team, -COST, at, image_id, job_id),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        out = {"job_id": job_id, "image_id": image_id, "credits_remaining": left[0]}
        return web.Response(
            status=202, body=orjson.dumps({"data": out}), content_type="application/json"
        )

    def single(sql: str, args: tuple[object, ...]) -> web.Response:
        db.execute(sql, args)
        return web.Response(body=b'{"data":{}}', content_type="application/json")

    async def patch(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        sql = "UPDATE images SET title = ?, updated_at = ? WHERE id = ? AND team_id = ?"
        return single(sql, (body["title"], now(), image, team))

    async def favorite(_request: web.Request) -> web.Response:
        sql = "UPDATE images SET is_favorite = NOT is_favorite WHERE id = ? AND team_id = ?"
        return single(sql, (image, team))

    async def calendar(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        at = now()
        return single(
            "INSERT INTO calendar_events (team_id, project_id, title, type, status,"
            " scheduled_at, created_at, updated_at)"
            " VALUES (?, ?, ?, 'article', 'planned', ?, ?, ?)",
            (team, project, body["title"], at, at, at),
        )

    return writes_app(generate, patch, favorite, calendar)


async def _alive(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def writes_app(
    generate: Handler, patch: Handler, favorite: Handler, calendar: Handler
) -> web.Application:
    """The app of the four write routes (and ``GET /``, to see it is up)."""
    app = web.Application()
    app.router.add_get("/", _alive)
    app.router.add_post("/generate", generate)
    app.router.add_patch("/image", patch)
    app.router.add_post("/favorite", favorite)
    app.router.add_post("/calendar", calendar)
    return app


if __name__ == "__main__":
    path, team, project, image, port = sys.argv[1:6]
    app = make_app(path, int(team), int(project), int(image))
    web.run_app(app, host="127.0.0.1", port=int(port), print=None)
