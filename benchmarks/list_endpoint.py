"""``GET /v1/images`` of the real server against a minimal raw-``sqlite3`` handler.

    .venv/bin/python -m benchmarks.list_endpoint [--rows 100000] [--duration 8]
        [--connections 32] [--dir /tmp/rankion-bench]

Seeds (once, kept in ``--dir``) a SQLite database with ``--rows`` images in team 1
(``benchmarks.seed``; ready images get blob keys so the server signs two URLs per
row, and image 1000 gets 50 variants), then starts two single-process servers on
127.0.0.1: ``rankion serve --no-workers`` on it, and ``benchmarks.list_baseline`` (one
aiohttp handler, blocking ``sqlite3``, ``orjson``, no auth, no total) on the same file.
Each endpoint is loaded with ``wrk`` (Debian's package) for ``--duration`` seconds
over ``--connections`` connections; it prints req/s, p50, p99 and req/s relative to
the baseline. Load is bounded in time and stays on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rankion_sqlalchemy import open_storage

from .seed import COMMON_TAG, COMMON_WORD, RARE_WORD, seed_images

TEAM = 1
TREE_ROOT = 1000
RANKION = str(Path(sys.executable).with_name("rankion"))
ENDPOINTS = {
    "baseline (raw sqlite3)": "BASE:/v1/images",
    "newest, per_page=50": "/v1/images?per_page=50",
    "favorite=true": "/v1/images?per_page=50&favorite=true",
    f"tags[]={COMMON_TAG}": f"/v1/images?per_page=50&tags[]={COMMON_TAG}",
    "sort=edited": "/v1/images?per_page=50&sort=edited",
    f"q={COMMON_WORD} (common)": f"/v1/images?per_page=50&q={COMMON_WORD}",
    f"q={RARE_WORD} (rare)": f"/v1/images?per_page=50&q={RARE_WORD}",
    "page=400, per_page=25": "/v1/images?per_page=25&page=400",
    "detail, 50 variants": f"/v1/images/{TREE_ROOT}",
}


def _cli(data_dir: Path, *args: str) -> str:
    out = subprocess.run(
        [RANKION, "--data-dir", str(data_dir), *args], check=True, capture_output=True, text=True
    )
    return out.stdout


async def _seed(url: str, rows: int) -> None:
    storage = open_storage(url)
    try:
        await seed_images(storage, TEAM, rows)
    finally:
        await storage.close()


def _decorate(db: Path) -> None:
    """Blob keys on ready images (so URLs are signed) and a 50-variant tree."""
    with sqlite3.connect(db) as con:
        con.execute(
            "UPDATE images SET blob_key = printf('images/2024/01/%032x.png', id),"
            " thumbnail_key = printf('thumbs/2024/01/%032x.webp', id)"
            " WHERE processing_status = 'ready'"
        )
        con.execute(
            "UPDATE images SET root_id = ?, parent_id = ?, deleted_at = NULL, purge_at = NULL"
            " WHERE id BETWEEN ? AND ?",
            (TREE_ROOT, TREE_ROOT, TREE_ROOT + 1, TREE_ROOT + 50),
        )


def prepare(base: Path, rows: int) -> tuple[Path, str]:
    """The data dir for ``rows`` (seeded once) and a fresh token of team 1."""
    data_dir = base / f"list-{rows}"
    done = data_dir / "seeded"
    if not done.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        _cli(data_dir, "migrate")
        started = time.perf_counter()
        asyncio.run(_seed(f"sqlite:///{data_dir / 'rankion.db'}", rows))
        _decorate(data_dir / "rankion.db")
        print(f"seeded {rows:,} images in {time.perf_counter() - started:.0f} s", flush=True)
        done.touch()
    token = json.loads(_cli(data_dir, "--json", "token", "create", "--team", str(TEAM)))
    return data_dir, str(token["token"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, headers: dict[str, str]) -> None:
    for _ in range(200):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers)) as r:
                r.read()
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@contextmanager
def running(args: list[str], url: str, headers: dict[str, str]) -> Iterator[None]:
    env = {**os.environ, "RANKION_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        _wait(url, headers)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(out: str, percentile: str) -> float:
    """wrk's latency at ``percentile`` in ms (NaN if it printed none)."""
    found = re.search(rf"\b{percentile}%\s+([\d.]+)(us|ms|s|m)\b", out)
    return float(found.group(1)) * _UNITS[found.group(2)] if found else math.nan


def wrk(url: str, token: str, seconds: int, connections: int) -> tuple[float, float, float]:
    """req/s, p50 ms, p99 ms of ``url`` under ``connections`` connections."""
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "30s",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50, p99 = _ms(out, "50"), _ms(out, "99")
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered errors:\n{out}")
    return rate, p50, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/rankion-bench"))
    parser.add_argument("--only", default="", help="comma-separated substrings of endpoint names")
    args = parser.parse_args()
    data_dir, token = prepare(args.dir, args.rows)
    auth = {"Authorization": f"Bearer {token}"}
    real, base = _free_port(), _free_port()
    serve = [RANKION, "--data-dir", str(data_dir), "serve", "--no-workers", "--port", str(real)]
    baseline = [
        sys.executable,
        "-m",
        "benchmarks.list_baseline",
        str(data_dir / "rankion.db"),
        str(base),
    ]
    wanted = [w for w in args.only.split(",") if w]
    with (
        running(serve, f"http://127.0.0.1:{real}/v1/images", auth),
        running(baseline, f"http://127.0.0.1:{base}/v1/images", auth),
    ):
        print(f"{args.rows:,} images, {args.connections} connections, {args.duration} s each")
        print(f"{'endpoint':28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x base':>7}")
        reference = 0.0
        for name, path in ENDPOINTS.items():
            if wanted and reference and not any(w in name for w in wanted):
                continue
            port = base if path.startswith("BASE:") else real
            url = f"http://127.0.0.1:{port}{path.removeprefix('BASE:')}"
            rate, p50, p99 = wrk(url, token, args.duration, args.connections)
            reference = reference or rate
            print(
                f"{name:28} {rate:8.0f} {p50:8.2f} {p99:8.2f} {rate / reference:7.2f}", flush=True
            )


if __name__ == "__main__":
    main()
