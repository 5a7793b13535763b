"""Bulk trash and restore of 200 images against 200 single calls, over real HTTP.

    .venv/bin/python -m benchmarks.bulk [--images 200] [--runs 5] [--dir /tmp/rankion-bench]

A fresh data dir ``--dir/bulk`` with ``--images`` images of team 1 (``benchmarks.seed``)
and a token; ``rankion serve --no-workers`` on it. Then, ``--runs`` times alternately,
over one keep-alive connection (``aiohttp``):

- **bulk**: ``POST /v1/images/bulk/delete`` with every id, then
  ``POST /v1/images/bulk/restore`` with every id;
- **single**: ``DELETE /v1/images/{id}`` for each id one after the other, then
  ``POST /v1/images/{id}/restore`` for each.

It prints the median time of each as Markdown and how many times faster bulk is. Each
bulk answer is checked: every id deleted (restored), none left over.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import time
from pathlib import Path

import aiohttp

from rankion_sqlalchemy import open_storage

from .list_endpoint import RANKION, _free_port, _markdown, running
from .seed import seed_images
from .write_path import _cli

TEAM = 1


async def _seed(db: Path, images: int) -> list[int]:
    storage = open_storage(f"sqlite:///{db}")
    try:
        await seed_images(storage, TEAM, images * 2)  # some are seeded in the trash
        async with storage.unit_of_work() as uow:
            found = await uow.images.get_many(TEAM, list(range(1, images * 2 + 1)))
            return [i.id for i in found if i.deleted_at is None][:images]
    finally:
        await storage.close()


async def _timed(base: str, token: str, ids: list[int], runs: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"bulk": [], "single": []}
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base, headers=headers) as http:

        async def call(method: str, path: str, body: object = None) -> dict[str, object]:
            async with http.request(method, path, json=body) as answer:
                if answer.status >= 300:
                    raise RuntimeError(f"{method} {path}: {answer.status} {await answer.text()}")
                return await answer.json()  # type: ignore[no-any-return]

        for _ in range(runs):
            started = time.perf_counter()
            deleted = await call("POST", "/v1/images/bulk/delete", {"ids": ids})
            restored = await call("POST", "/v1/images/bulk/restore", {"ids": ids})
            times["bulk"].append(time.perf_counter() - started)
            gone = deleted["data"]["deleted"]  # type: ignore[index]
            back = restored["data"]["restored"]  # type: ignore[index]
            if sorted(gone) != sorted(ids) or sorted(back) != sorted(ids):
                raise RuntimeError("a bulk call did not move every id")
            started = time.perf_counter()
            for image_id in ids:
                await call("DELETE", f"/v1/images/{image_id}")
            for image_id in ids:
                await call("POST", f"/v1/images/{image_id}/restore")
            times["single"].append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/rankion-bench"))
    args = parser.parse_args()
    data_dir = args.dir / "bulk"
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    _cli(data_dir, "migrate")
    ids = asyncio.run(_seed(data_dir / "rankion.db", args.images))
    token = _cli(data_dir, "token", "create", "--team", str(TEAM))
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [RANKION, "--data-dir", str(data_dir), "serve", "--no-workers", "--port", str(port)]
    os.environ["RANKION_WRITE_RATE"] = "0"  # 400 single calls a run (running() passes it on)
    with running(serve, f"{base}/v1/images", {"Authorization": f"Bearer {token}"}):
        times = asyncio.run(_timed(base, token, ids, args.runs))
    bulk, single = statistics.median(times["bulk"]), statistics.median(times["single"])
    print(f"\n{len(ids)} live images, trash then restore, median of {args.runs}")
    print(_markdown(["way", "ms", "x faster"]))
    print(_markdown(["---"] * 3))
    print(_markdown([f"{len(ids)} single calls each way", f"{single * 1000:,.0f}", "1"]))
    print(_markdown(["one bulk call each way", f"{bulk * 1000:,.0f}", f"{single / bulk:.1f}"]))


if __name__ == "__main__":
    main()
