"""A ``PATCH``'s unit of work on PostgreSQL against raw asyncpg making the same round trips.

    .venv/bin/python -m benchmarks.pg_unit_of_work [--count 1000] [--rounds 3]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

Makes a fresh database ``<the URL's database>_uow`` with a team and one image, then
runs, one after another on one connection, alternately ``--rounds`` times:

- **Rankion**: the storage's unit of work of a title change as the gallery runs it
  (``no_transaction``; ``images.get_shown``: the image and its share in one statement;
  ``images.update(..., unlocked=True)``: the title and its words, while the tags and
  prompt are as read; ``commit``);
- **raw**: asyncpg making the same two round trips in autocommit (the image with its
  share, the guarded ``UPDATE``) with prepared statements, its records left as asyncpg
  gives them.

It prints, for each, the process's CPU time and the wall time per unit of work (the
best round) and their ratios. PostgreSQL's own work is in the wall time of both, not
in the CPU time: the CPU ratio is what this process's layers cost over the driver's.
Bounded: ``--count`` units of work per round, on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg

from rankion_core.ports import no_transaction
from rankion_core.testing.builders import add_images, image, make_team
from rankion_sqlalchemy import open_storage

from .list_baseline_pg import asyncpg_url
from .list_endpoint import _admin, _markdown, _with_database

SUFFIX = "_uow"
#: the whole rows, as the unit of work reads them (its answer shows the image and share)
SHOWN = (
    "SELECT * FROM images LEFT JOIN LATERAL (SELECT * FROM shares WHERE image_id = $1"
    " AND team_id = $2 AND revoked_at IS NULL AND expires_at > $3 ORDER BY id DESC LIMIT 1)"
    " AS share ON true WHERE images.id = $1 AND images.team_id = $2"
)
TITLE = (
    "UPDATE images SET title = $1, updated_at = $2, search_text = $3 WHERE id = $4"
    " AND team_id = $5 AND prompt = $6 AND tags::jsonb = $7::jsonb"
)


async def _timed(unit: Callable[[int], Awaitable[None]], count: int) -> tuple[float, float]:
    """CPU and wall µs per unit of work over ``count`` of them."""
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(count):
        await unit(i)
    return (
        (time.process_time() - cpu) / count * 1e6,
        (time.perf_counter() - wall) / count * 1e6,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    name = (args.postgres.rsplit("/", 1)[1] or "rankion_bench") + SUFFIX
    await _admin(args.postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await _admin(args.postgres, f'CREATE DATABASE "{name}"')
    url = _with_database(args.postgres, name)
    storage = open_storage(url)
    await storage.migrate()
    team = (await make_team(storage)).id
    (img,) = await add_images(storage, image(team, title="t", tags=["a", "b"]))
    raw = await asyncpg.connect(asyncpg_url(url))

    async def ours(i: int) -> None:
        now = datetime.now(UTC)
        async with storage.unit_of_work() as uow:
            no_transaction(uow)
            found = await uow.images.get_shown(team, img.id, now)
            assert found is not None
            found[0].title, found[0].updated_at = f"title {i}", now
            assert await uow.images.update(found[0], tags=False, unlocked=True)
            await uow.commit()

    async def theirs(i: int) -> None:
        now = datetime.now(UTC)
        row = await raw.fetchrow(SHOWN, img.id, team, now)
        words = f"title {i} {row['prompt']}"
        tags = json.dumps(row["tags"]) if not isinstance(row["tags"], str) else row["tags"]
        await raw.execute(TITLE, f"title {i}", now, words, img.id, team, row["prompt"], tags)

    try:
        for unit in (ours, theirs):  # warm: plans made, statements prepared
            await _timed(unit, 50)
        best: dict[str, tuple[float, float]] = {}
        for _ in range(args.rounds):
            for label, unit in (("Rankion", ours), ("raw asyncpg", theirs)):
                cpu, wall = await _timed(unit, args.count)
                kept = best.get(label)
                best[label] = (min(cpu, kept[0]), min(wall, kept[1])) if kept else (cpu, wall)
    finally:
        await raw.close()
        await storage.close()
    print(f"\nPostgreSQL, a title change's unit of work, best of {args.rounds} x {args.count}")
    print(_markdown(["side", "CPU µs", "wall µs"]))
    print(_markdown(["---"] * 3))
    for label, (cpu, wall) in best.items():
        print(_markdown([label, f"{cpu:.0f}", f"{wall:.0f}"]))
    (c1, w1), (c2, w2) = best["Rankion"], best["raw asyncpg"]
    print(_markdown(["raw / Rankion", f"{c2 / c1:.2f}", f"{w2 / w1:.2f}"]))


if __name__ == "__main__":
    asyncio.run(main())
