"""The gallery list's server-side work in process, stage by stage.

    .venv/bin/python -m benchmarks.read_path [--dir /tmp/rankion-bench/list-1000000]
        [--runs 300] [--profile] [--shapes]

Opens the backends of a data dir seeded by ``benchmarks.list_endpoint`` (SQLite)
exactly as ``rankion serve`` does, then times, per 50-row page of team 1: the storage
read (``storage.reads().image_listing``), the service (``Gallery.list``: the read plus
signed URLs and views), and the service plus rendering to JSON bytes — everything a
request does but HTTP, middleware and auth. ``--profile`` prints a cProfile of the
last stage. ``--shapes`` also times the storage read of each filtered list and of a
detail (the shapes of ``benchmarks.list_endpoint``). No figures are asserted: it is a
tool for finding where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from rankion_core.models import Actor, ImageSort
from rankion_core.ports import ImageQuery
from rankion_core.rules.limits import TOTAL_COUNT_LIMIT
from rankion_server import render, wiring
from rankion_server.config import ServerConfig
from rankion_server.responses import page

from .seed import COMMON_TAG, COMMON_WORD, RARE_WORD

#: the filtered lists timed by ``--shapes`` (team 1, as ``list_endpoint``)
SHAPES = {
    "favorite=true": ImageQuery(team_id=1, per_page=50, favorite=True),
    f"tags[]={COMMON_TAG}": ImageQuery(team_id=1, per_page=50, tags=(COMMON_TAG,)),
    "sort=edited": ImageQuery(team_id=1, per_page=50, sort=ImageSort.EDITED),
    f"q={COMMON_WORD}": ImageQuery(team_id=1, per_page=50, q=COMMON_WORD),
    f"q={RARE_WORD}": ImageQuery(team_id=1, per_page=50, q=RARE_WORD),
    "page=400, per_page=25": ImageQuery(team_id=1, per_page=25, page=400),
}
#: the detail timed by ``--shapes`` (``list_endpoint`` gives it 50 variants)
TREE_ROOT = 1000


async def _per_call(call: Callable[[], Awaitable[object]], runs: int) -> tuple[float, float]:
    """Mean wall and CPU µs of ``call`` (after a warm-up)."""
    for _ in range(20):
        await call()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(runs):
        await call()
    return (
        (time.perf_counter() - wall) / runs * 1e6,
        (time.process_time() - cpu) / runs * 1e6,
    )


async def main(data_dir: Path, runs: int, profile: bool, shapes: bool) -> None:
    config = ServerConfig.from_options(data_dir=str(data_dir))
    app = await wiring.build(config)
    try:
        deps = app.deps
        actor = Actor(user_id=1, team_id=1)
        query = ImageQuery(team_id=1, per_page=50)
        now = deps.clock.now()

        async def read() -> object:
            return await deps.storage.reads().image_listing(query, now, TOTAL_COUNT_LIMIT)

        async def service() -> object:
            return await app.gallery.list(actor, query)

        async def rendered() -> object:
            return page(await app.gallery.list(actor, query), render.image_row, plain=True)

        print(f"{data_dir}, team 1, per_page=50, {runs} runs (µs per page)")
        for name, call in (("storage read", read), ("+ service", service), ("+ render", rendered)):
            wall, cpu = await _per_call(call, runs)
            print(f"{name:14} wall {wall:8.0f}  cpu {cpu:8.0f}")
        if shapes:
            reads = deps.storage.reads()
            for name, shape in SHAPES.items():

                async def listed(shape: ImageQuery = shape) -> object:
                    return await reads.image_listing(shape, now, TOTAL_COUNT_LIMIT)

                wall, cpu = await _per_call(listed, runs)
                print(f"{name:24} wall {wall:8.0f}  cpu {cpu:8.0f}")

            async def detail() -> object:
                return await reads.image_family(1, TREE_ROOT, now)

            wall, cpu = await _per_call(detail, runs)
            print(f"{'detail, 50 variants':24} wall {wall:8.0f}  cpu {cpu:8.0f}")
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(runs):
                await rendered()
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    finally:
        await wiring.close(app)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("/tmp/rankion-bench/list-1000000"))
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--shapes", action="store_true", help="also time filtered lists")
    args = parser.parse_args()
    asyncio.run(main(args.dir, args.runs, args.profile, args.shapes))
