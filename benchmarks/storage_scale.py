"""Image-list latency at 10k, 100k and 1M images in one team (SQLite and PostgreSQL).

    .venv/bin/python -m benchmarks.storage_scale [--sizes 10000,100000,1000000]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--runs 15]

The same database grows from one size to the next (bulk Core INSERTs, see
``benchmarks.seed``; a second team holds a tenth as many rows). At each size it
measures, as the median of ``--runs`` runs: page 1 (24 items) of each query alone
(with SQLite's plan choice, shown in brackets), its exact ``COUNT(*)`` total alone,
and the repository's ``images.list`` (both, in one unit of work). It prints the times
side by side with the ratio 1M/10k (the target is <= 2). PostgreSQL is measured after
``VACUUM ANALYZE``; SQLite without statistics, as an embedded database usually is.
``RANKION_BENCH_POSTGRES_URL`` may stand in for ``--postgres``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from rankion_core.models import ImageSort
from rankion_core.ports import ImageQuery
from rankion_sqlalchemy import SqlStorage, open_storage
from rankion_sqlalchemy.plans import choose_plan
from rankion_sqlalchemy.queries import Plan, image_filters, image_page
from rankion_sqlalchemy.tables import images

from .seed import COMMON_TAG, COMMON_WORD, RARE_TAG, RARE_WORD, analyze, seed_images

TEAM = 1
QUERIES: dict[str, ImageQuery] = {
    "newest": ImageQuery(team_id=TEAM),
    "edited": ImageQuery(team_id=TEAM, sort=ImageSort.EDITED),
    f"tag {COMMON_TAG} (~2%)": ImageQuery(team_id=TEAM, tags=(COMMON_TAG,)),
    f"q {COMMON_WORD} (~0.4%)": ImageQuery(team_id=TEAM, q=COMMON_WORD),
    "tag rare (0.01%)": ImageQuery(team_id=TEAM, tags=(RARE_TAG,)),
    "q rare (0.01%)": ImageQuery(team_id=TEAM, q=RARE_WORD),
}
Timings = dict[tuple[str, str], Any]  # (query, part) -> median ms, or SQLite's plan


async def median_ms(runs: int, action: Callable[[], Awaitable[Any]]) -> float:
    await action()  # warm the pool, the statement cache and the page cache
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


async def page_only(storage: SqlStorage, query: ImageQuery) -> Plan:
    """What ``images.list`` does but the count: choose the plan, read the page."""
    async with storage.unit_of_work() as uow:
        plan = await choose_plan(uow.session, query, storage.dialect)
        where = image_filters(query, storage.dialect, plan)
        (await uow.session.execute(image_page(query, storage.dialect, where))).all()
    return plan


async def count_only(storage: SqlStorage, query: ImageQuery, plan: Plan) -> None:
    """The total as ``images.list`` counts it (SQLite: driving from the matches)."""
    where = image_filters(query, storage.dialect, "default" if plan == "default" else "drive")
    async with storage.engine.connect() as connection:
        await connection.scalar(select(func.count()).select_from(images).where(*where))


async def full_list(storage: SqlStorage, query: ImageQuery) -> None:
    async with storage.unit_of_work() as uow:
        await uow.images.list(query)


async def measure(storage: SqlStorage, runs: int) -> Timings:
    timings: Timings = {}
    for name, query in QUERIES.items():
        plan = await page_only(storage, query)
        timings[name, "plan"] = plan
        timings[name, "page"] = await median_ms(runs, lambda q=query: page_only(storage, q))
        timings[name, "count"] = await median_ms(
            runs, lambda q=query, p=plan: count_only(storage, q, p)
        )
        timings[name, "list()"] = await median_ms(runs, lambda q=query: full_list(storage, q))
    return timings


async def grow_to(storage: SqlStorage, size: int, have: int) -> float:
    start = time.perf_counter()
    await seed_images(storage, TEAM, size - have)
    await seed_images(storage, TEAM + 1, (size - have) // 10)
    if storage.dialect == "postgresql":  # autovacuum would, soon; SQLite: none, as embedded
        await analyze(storage)
    return time.perf_counter() - start


def print_table(backend: str, sizes: list[int], results: dict[int, Timings]) -> None:
    labels = [f"{s // 1000}k" if s < 1_000_000 else f"{s // 1_000_000}M" for s in sizes]
    ratio_label = f"{labels[-1]}/{labels[0]}"
    header = f"| {backend} query | part | " + " | ".join(f"{lb} ms" for lb in labels)
    print(f"\n{header} | {ratio_label} |")
    print("|" + "---|" * (len(sizes) + 3))
    for key in results[sizes[0]]:
        if key[1] == "plan":
            continue
        times = [results[s][key] for s in sizes]
        ratio = times[-1] / times[0] if times[0] else float("nan")
        cells = " | ".join(f"{t:.2f}" for t in times)
        plans = [str(results[s][key[0], "plan"]) for s in sizes]
        label = key[0] if set(plans) == {"default"} else f"{key[0]} [{' → '.join(plans)}]"
        print(f"| {label} | {key[1]} | {cells} | {ratio:.1f} |")


async def bench(backend: str, url: str, sizes: list[int], runs: int, **options: Any) -> None:
    storage = open_storage(url, **options)
    try:
        await storage.migrate()
        results: dict[int, Timings] = {}
        have = 0
        for size in sizes:
            took = await grow_to(storage, size, have)
            have = size
            print(f"{backend}: seeded up to {size:,} images in {took:.0f} s", flush=True)
            results[size] = await measure(storage, runs)
        print_table(backend, sizes, results)
    finally:
        await storage.close()


async def bench_postgres(url: str, sizes: list[int], runs: int) -> None:
    schema = f"rankion_bench_{uuid.uuid4().hex[:8]}"
    admin = open_storage(url)
    async with admin.engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        options = {"connect_args": {"server_settings": {"search_path": schema}}}
        await bench("postgresql", url, sizes, runs, **options)
    finally:
        async with admin.engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--postgres", default=os.environ.get("RANKION_BENCH_POSTGRES_URL"))
    parser.add_argument("--sqlite-dir", default="/tmp")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if not args.skip_sqlite:
        path = Path(args.sqlite_dir) / f"rankion-bench-{uuid.uuid4().hex[:8]}.db"
        try:
            await bench("sqlite", f"sqlite:///{path}", sizes, args.runs)
        finally:
            for suffix in ("", "-wal", "-shm"):
                await asyncio.to_thread(Path(f"{path}{suffix}").unlink, missing_ok=True)
    if args.postgres:
        await bench_postgres(args.postgres, sizes, args.runs)


if __name__ == "__main__":
    asyncio.run(main())
