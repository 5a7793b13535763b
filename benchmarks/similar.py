"""``Gallery.similar`` (``GET /v1/images/{id}/similar``) over a team with many images.

    .venv/bin/python -m benchmarks.similar [DATABASE_URL] [--images N ...] [--runs R]

Seeds one team with N ready images (default 10,000 and 100,000), each with a random
64-bit perceptual hash (a few near-duplicate clusters among them), then asks for the
neighbours of one image at ``max_distance=8`` R times through the service and prints
p50/p95 in ms — beside the first page of the team's gallery list (``Gallery.list``) in
the same run, as the baseline. The URL defaults to a SQLite file in a temporary
folder; a PostgreSQL URL uses that database (a new team's rows are added to it).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select

from rankion_core.models import Actor, ProcessingStatus
from rankion_core.ports import ImageQuery
from rankion_core.rules.similar import to_signed
from rankion_core.services import Accounts, Deps, Gallery
from rankion_core.signing import HmacUrlSigner
from rankion_fsspec import open_blob_store
from rankion_sqlalchemy import open_storage
from rankion_sqlalchemy.tables import images

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def rows(team_id: int, n: int, rng: random.Random) -> list[dict[str, Any]]:
    centres = [rng.getrandbits(64) for _ in range(20)]
    made = []
    for k in range(n):
        h = rng.getrandbits(64)
        if k % 50 == 0:  # 2 % near duplicates of a few pictures
            h = rng.choice(centres) ^ (1 << rng.randrange(64))
        made.append(
            {
                "team_id": team_id,
                "prompt": f"picture {k}",
                "model": "procedural-v1",
                "size": "1024x1024",
                "quality": "auto",
                "created_at": T0,
                "updated_at": T0,
                "output_format": "png",
                "tags": [],
                "is_favorite": False,
                "processing_status": ProcessingStatus.READY,
                "blob_key": f"images/{k}.png",
                "credits_charged": 5,
                "share_views": 0,
                "search_text": f"picture {k}",
                "phash": to_signed(h),
                "renditions": [],
            }
        )
    return made


async def timed(call: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    await call()
    took = []
    for _ in range(runs):
        start = time.perf_counter()
        await call()
        took.append((time.perf_counter() - start) * 1000)
    return took


async def measure(url: str, n: int, runs: int) -> None:
    storage = open_storage(url)
    await storage.migrate()
    signer = HmacUrlSigner(b"0123456789abcdef0123", "http://bench")
    blobs = open_blob_store(f"memory://bench-{random.randrange(10**9)}")  # URLs are signed here
    deps = Deps(storage, blobs=blobs, provider=None, codec=None, signer=signer)  # type: ignore[arg-type]
    team = await Accounts(deps).create_team(f"bench-{random.randrange(10**9)}")
    actor = Actor(team_id=team.id)
    made = rows(team.id, n, random.Random(n))
    async with storage.engine.begin() as connection:
        for chunk in range(0, len(made), 5_000):
            await connection.execute(insert(images), made[chunk : chunk + 5_000])
        image_id = await connection.scalar(
            select(images.c.id).where(images.c.team_id == team.id).order_by(images.c.id).limit(1)
        )
    gallery = Gallery(deps)
    near = await timed(lambda: gallery.similar(actor, int(image_id or 0), 8), runs)
    listed = await timed(lambda: gallery.list(actor, ImageQuery(team_id=team.id)), runs)
    found = await gallery.similar(actor, int(image_id or 0), 8)
    p50, base = statistics.median(near), statistics.median(listed)
    p95 = statistics.quantiles(near, n=20)[-1]
    print(
        f"{storage.engine.dialect.name:10} {n:>7} images  similar p50 {p50:6.1f} ms "
        f"p95 {p95:6.1f} ms  ({found.total} within 8 bits)  list page p50 {base:6.1f} ms  "
        f"ratio {p50 / base:4.1f}x"
    )
    await storage.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--images", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    for n in args.images:
        if args.url:
            await measure(args.url, n, args.runs)
        else:
            with tempfile.TemporaryDirectory() as folder:
                await measure(f"sqlite:///{folder}/similar.db", n, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
