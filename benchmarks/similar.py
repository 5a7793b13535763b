"""``Gallery.similar`` (``GET /v1/images/{id}/similar``) over a team with many images.

    .venv/bin/python -m benchmarks.similar [DATABASE_URL] [--images N ...] [--runs R]
        [--distances D ...] [--variants scan bands]

Seeds one team with N ready images (default 10,000 and 100,000), each with a random
64-bit perceptual hash (a few near-duplicate clusters among them), then asks for the
neighbours of one image at each distance (default 8, the API's default) R times
through the service and prints p50/p95 in ms, beside the first page of the team's
gallery list (``Gallery.list``) in the same run. Each size runs twice: ``bands`` as
shipped, and ``scan``, the baseline, with the hash band indexes dropped before seeding
and every query reading the team's whole hash range (as before the bands). ``seed``
is the time to insert the N rows, so the two show what the band indexes cost a write.
On PostgreSQL each query is timed right after the seeding (``fresh``) and again
after ``VACUUM ANALYZE`` (``vacuumed``, where autovacuum leaves a table).

``loop gap``: each distance is asked R times more while a task on the same event loop
ticks every millisecond (another team's request, as the server has them); per call,
the longest the loop went without a tick beyond that millisecond (p50 and max over the
calls), beside the calls' own p50 in that pass: a call that holds the loop shows a gap
as long as itself.

The URL defaults to a SQLite file in a temporary folder; a PostgreSQL URL gets a new
schema per run in that database, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, text

from benchmarks.seed import analyze
from rankion_core.models import Actor, ProcessingStatus
from rankion_core.ports import ImageQuery
from rankion_core.rules.similar import BAND_SHIFTS, to_signed
from rankion_core.services import Accounts, Deps, Gallery
from rankion_core.signing import HmacUrlSigner
from rankion_fsspec import open_blob_store
from rankion_sqlalchemy import SqlStorage, open_storage
from rankion_sqlalchemy.repositories import images as image_repo
from rankion_sqlalchemy.tables import images

T0 = datetime(2026, 1, 1, tzinfo=UTC)
VARIANTS = ("scan", "bands")


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


async def stalled(call: Callable[[], Awaitable[object]], runs: int) -> tuple[float, float, float]:
    """While ``call`` runs ``runs`` times beside a task ticking every millisecond: per
    call, the longest gap (ms) between two ticks beyond that millisecond; their p50 and
    max, and the calls' p50 (ms) meanwhile."""
    done = False
    gap = 0.0

    async def ticker() -> None:
        nonlocal gap
        while not done:
            start = time.perf_counter()
            await asyncio.sleep(0.001)
            gap = max(gap, time.perf_counter() - start - 0.001)

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    gaps, took = [], []
    try:
        for _ in range(runs):
            gap = 0.0
            start = time.perf_counter()
            await call()
            took.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(0.002)  # a gap that ends after the call is the call's
            gaps.append(gap * 1000)
    finally:
        done = True
        await ticking
    return statistics.median(gaps), max(gaps), statistics.median(took)


async def seed(storage: SqlStorage, team_id: int, n: int, variant: str) -> tuple[int, float]:
    """The first image's id and the seconds the inserts took."""
    made = rows(team_id, n, random.Random(n))
    async with storage.engine.begin() as connection:
        if variant == "scan":
            for shift in BAND_SHIFTS:
                await connection.execute(text(f"DROP INDEX ix_images_phash_band{shift}"))
    start = time.perf_counter()
    async with storage.engine.begin() as connection:
        for chunk in range(0, len(made), 5_000):
            await connection.execute(insert(images), made[chunk : chunk + 5_000])
    took = time.perf_counter() - start
    async with storage.engine.connect() as connection:
        image_id = await connection.scalar(
            select(images.c.id).where(images.c.team_id == team_id).order_by(images.c.id).limit(1)
        )
    return int(image_id or 0), took


async def measure(
    storage: SqlStorage, n: int, runs: int, variant: str, distances: list[int]
) -> None:
    await storage.migrate()
    signer = HmacUrlSigner(b"0123456789abcdef0123", "http://bench")
    blobs = open_blob_store(f"memory://bench-{uuid.uuid4().hex}")  # URLs are signed here
    deps = Deps(storage, blobs=blobs, provider=None, codec=None, signer=signer)  # type: ignore[arg-type]
    team = await Accounts(deps).create_team(f"bench-{uuid.uuid4().hex}")
    actor = Actor(team_id=team.id)
    image_id, seconds = await seed(storage, team.id, n, variant)
    gallery = Gallery(deps)
    dialect = storage.engine.dialect.name
    states = ["fresh", "vacuumed"] if dialect == "postgresql" else ["fresh"]
    for state in states:
        if state == "vacuumed":
            await analyze(storage)
        listed = await timed(lambda: gallery.list(actor, ImageQuery(team_id=team.id)), runs)
        base = statistics.median(listed)
        for d in distances:
            near = await timed(lambda d=d: gallery.similar(actor, image_id, d), runs)  # type: ignore[misc]
            found = await gallery.similar(actor, image_id, d)
            gap, worst, during = await stalled(
                lambda d=d: gallery.similar(actor, image_id, d),  # type: ignore[misc]
                runs,
            )
            p50, p95 = statistics.median(near), statistics.quantiles(near, n=20)[-1]
            print(
                f"{dialect:10} {n:>7} images {variant:5} {state:8} seed {seconds:5.1f} s  "
                f"d={d:<2} similar p50 {p50:6.1f} ms p95 {p95:6.1f} ms ({found.total} found)  "
                f"list page p50 {base:5.1f} ms  ratio {p50 / base:4.1f}x  "
                f"loop gap p50 {gap:6.1f} ms max {worst:6.1f} ms "
                f"(calls meanwhile p50 {during:6.1f} ms)",
                flush=True,
            )


async def run(url: str | None, n: int, runs: int, variant: str, distances: list[int]) -> None:
    if url is None:
        with tempfile.TemporaryDirectory() as folder:
            storage = open_storage(f"sqlite:///{folder}/similar.db")
            try:
                await measure(storage, n, runs, variant, distances)
            finally:
                await storage.close()
        return
    schema = f"bench_similar_{uuid.uuid4().hex[:12]}"
    admin = open_storage(url)
    async with admin.engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    storage = open_storage(url, connect_args={"server_settings": {"search_path": schema}})
    try:
        await measure(storage, n, runs, variant, distances)
    finally:
        await storage.close()
        async with admin.engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("url", nargs="?")
    parser.add_argument("--images", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--distances", type=int, nargs="+", default=[8])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = parser.parse_args()
    banded = image_repo.band_probes
    for n in args.images:
        for variant in args.variants:
            # the baseline: every query reads the team's whole hash range
            image_repo.band_probes = banded if variant == "bands" else lambda *_: None  # type: ignore[assignment]
            await run(args.url, n, args.runs, variant, args.distances)
    image_repo.band_probes = banded


if __name__ == "__main__":
    asyncio.run(main())
