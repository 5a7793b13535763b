"""``GET /v1/images`` of the real server against a minimal raw-driver handler.

    .venv/bin/python -m benchmarks.list_endpoint [--rows 10000,1000000] [--duration 8]
        [--latency-duration SECONDS] [--connections 32] [--dir /tmp/rankion-bench]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--only newest,detail]

For each ``--rows`` size it seeds (once, kept) a database with that many images in
team 1 (``benchmarks.seed``; ready images get blob keys so the server signs two URLs
per row, and image 1000 gets 50 variants): a SQLite file in ``--dir/list-<rows>``, or
with ``--postgres`` a database ``rankion_bench_<rows>`` created through that URL. It
then starts two single-process servers on 127.0.0.1: ``rankion serve --no-workers``,
and a baseline on the same database (one aiohttp handler, the default page-1 query
with the raw driver, ``orjson``, no auth, no total: ``benchmarks.list_baseline`` for
SQLite, ``benchmarks.list_baseline_pg`` for PostgreSQL).

Each endpoint is loaded with ``wrk`` (Debian's package) twice: ``--duration`` seconds
over ``--connections`` connections for the throughput, then ``--latency-duration``
seconds over one connection for the latency of a single request (p50, p99). With
several sizes it ends with each endpoint's p50 per size and the ratio largest/smallest
size. Load is bounded in time and stays on loopback; a non-2xx answer aborts the run.
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
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from sqlalchemy import text

from rankion_sqlalchemy import open_storage

from .list_baseline_pg import asyncpg_url
from .seed import COMMON_TAG, COMMON_WORD, RARE_WORD, analyze, seed_images

TEAM = 1
TREE_ROOT = 1000
RANKION = str(Path(sys.executable).with_name("rankion"))
PAGE_1 = "newest, per_page=50"
PAGE_400 = "page=400, per_page=25"
#: the real server's endpoints, by the name printed for them
ENDPOINTS = {
    PAGE_1: "/v1/images?per_page=50",
    "favorite=true": "/v1/images?per_page=50&favorite=true",
    f"tags[]={COMMON_TAG}": f"/v1/images?per_page=50&tags[]={COMMON_TAG}",
    "sort=edited": "/v1/images?per_page=50&sort=edited",
    f"q={COMMON_WORD} (common)": f"/v1/images?per_page=50&q={COMMON_WORD}",
    f"q={RARE_WORD} (rare)": f"/v1/images?per_page=50&q={RARE_WORD}",
    PAGE_400: "/v1/images?per_page=25&page=400",
    "detail, 50 variants": f"/v1/images/{TREE_ROOT}",
}


@dataclass(frozen=True)
class Target:
    """One seeded database: how ``rankion`` finds it and how its baseline is started."""

    backend: str  # "sqlite" or "postgresql"
    rows: int
    where: tuple[str, ...]  # rankion's --data-dir / --database options
    baseline: tuple[str, ...]  # the baseline's command line, its port appended
    driver: str  # the baseline's driver, for its name

    @property
    def baseline_name(self) -> str:
        return f"baseline (raw {self.driver})"

    def cli(self, *args: str) -> str:
        command = [RANKION, *self.where, *args]
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout

    def token(self) -> str:
        """A fresh API token of team 1."""
        return str(json.loads(self.cli("--json", "token", "create", "--team", str(TEAM)))["token"])

    def serve_command(self, port: int) -> list[str]:
        return [RANKION, *self.where, "serve", "--no-workers", "--port", str(port)]

    def baseline_command(self, port: int) -> list[str]:
        return [sys.executable, "-m", *self.baseline, str(port)]


def _seeded(rows: int, started: float) -> None:
    print(f"seeded {rows:,} images in {time.perf_counter() - started:.0f} s", flush=True)


# ---------------------------------------------------------------- SQLite


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


def prepare_sqlite(base: Path, rows: int) -> Target:
    """The data dir ``base/list-<rows>``, seeded once (a file ``seeded`` marks it)."""
    data_dir = base / f"list-{rows}"
    target = Target(
        "sqlite",
        rows,
        ("--data-dir", str(data_dir)),
        ("benchmarks.list_baseline", str(data_dir / "rankion.db")),
        "sqlite3",
    )
    done = data_dir / "seeded"
    if not done.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
        target.cli("migrate")
        started = time.perf_counter()
        asyncio.run(_seed(f"sqlite:///{data_dir / 'rankion.db'}", rows))
        _decorate(data_dir / "rankion.db")
        _seeded(rows, started)
        done.touch()
    return target


# ---------------------------------------------------------------- PostgreSQL

#: what ``_decorate`` does, in PostgreSQL's SQL
DECORATE_POSTGRES = (
    "UPDATE images SET blob_key = 'images/2024/01/' || lpad(to_hex(id), 32, '0') || '.png',"
    " thumbnail_key = 'thumbs/2024/01/' || lpad(to_hex(id), 32, '0') || '.webp'"
    " WHERE processing_status = 'ready'",
    f"UPDATE images SET root_id = {TREE_ROOT}, parent_id = {TREE_ROOT}, deleted_at = NULL,"
    f" purge_at = NULL WHERE id BETWEEN {TREE_ROOT + 1} AND {TREE_ROOT + 50}",
)


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _seeded_mark(rows: int) -> str:
    return f"rankion bench: {rows} images seeded"


async def _admin(url: str, *statements: str, query: str = "SELECT NULL") -> object:
    """Run ``statements`` on ``url``, one by one and outside a transaction (as CREATE
    DATABASE needs), then ``query``; its value."""
    connection = await asyncpg.connect(asyncpg_url(url))
    try:
        for statement in statements:
            await connection.execute(statement)
        return await connection.fetchval(query)
    finally:
        await connection.close()


async def _seed_postgres(url: str, rows: int) -> None:
    storage = open_storage(url)
    try:
        await seed_images(storage, TEAM, rows)
        async with storage.engine.begin() as connection:
            for statement in DECORATE_POSTGRES:
                await connection.execute(text(statement))
        await analyze(storage)  # VACUUM ANALYZE, as autovacuum would soon
    finally:
        await storage.close()


def prepare_postgres(admin_url: str, base: Path, rows: int) -> Target:
    """The database ``rankion_bench_<rows>`` next to ``admin_url``'s, seeded once (its
    comment marks it); ``base/pg-<rows>`` holds the URL-signing secret."""
    name = f"rankion_bench_{rows}"
    url = _with_database(admin_url, name)
    data_dir = base / f"pg-{rows}"
    target = Target(
        "postgresql",
        rows,
        ("--database", url, "--data-dir", str(data_dir)),
        ("benchmarks.list_baseline_pg", url),
        "asyncpg",
    )
    mark = asyncio.run(
        _admin(
            admin_url,
            query="SELECT shobj_description(oid, 'pg_database') FROM pg_database"
            f" WHERE datname = '{name}'",
        )
    )
    if mark != _seeded_mark(rows):
        asyncio.run(
            _admin(
                admin_url,
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                f'CREATE DATABASE "{name}"',
            )
        )
        target.cli("migrate")
        started = time.perf_counter()
        asyncio.run(_seed_postgres(url, rows))
        _seeded(rows, started)
        asyncio.run(_admin(admin_url, f"COMMENT ON DATABASE \"{name}\" IS '{_seeded_mark(rows)}'"))
    return target


# ---------------------------------------------------------------- servers and wrk


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(proc: subprocess.Popen[bytes], url: str, headers: dict[str, str]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
        try:
            return _get(url, headers)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def _get(url: str, headers: dict[str, str]) -> None:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as answer:
        answer.read()


@contextmanager
def running(args: list[str], url: str, headers: dict[str, str]) -> Iterator[None]:
    """``args`` running until the block ends, once ``url`` answers; its stderr is
    shown if it does not come up."""
    env = {**os.environ, "RANKION_LOG_LEVEL": "WARNING"}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=log, env=env)
        try:
            _wait(proc, url, headers)
        except RuntimeError:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:].decode(errors="replace"))
            raise
        try:
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


# ---------------------------------------------------------------- one size


@dataclass(frozen=True)
class Figures:
    rate: float  # req/s over --connections connections
    ratio: float  # rate / the baseline's rate
    p50: float  # ms, one connection
    p99: float  # ms, one connection


Results = dict[str, Figures]  # by endpoint name, the baseline first


def _markdown(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _header(args: argparse.Namespace, target: Target) -> None:
    print(
        f"\n{target.backend}, {target.rows:,} images: req/s over {args.connections}"
        f" connections ({args.duration} s), p50/p99 over 1 connection"
        f" ({args.latency_duration} s)"
    )
    rate = f"req/s c{args.connections}"
    print(_markdown([f"{'endpoint':28}", f"{rate:>9}", "x base", "p50 ms c1", "p99 ms c1"]))
    print(_markdown(["---"] * 5))


def _row(name: str, figures: Figures) -> str:
    cells = [f"{figures.rate:9.0f}", f"{figures.ratio:6.2f}", f"{figures.p50:9.2f}"]
    return _markdown([f"{name:28}", *cells, f"{figures.p99:9.2f}"])


def bench(target: Target, args: argparse.Namespace, wanted: list[str]) -> Results:
    """Starts the server and the baseline on ``target`` and loads each endpoint."""
    token = target.token()
    auth = {"Authorization": f"Bearer {token}"}
    real, base = _free_port(), _free_port()
    paths = {target.baseline_name: f"http://127.0.0.1:{base}/v1/images"}
    for name, path in ENDPOINTS.items():
        if not wanted or any(w in name for w in wanted):
            paths[name] = f"http://127.0.0.1:{real}{path}"
    results: Results = {}
    with (
        running(target.serve_command(real), f"http://127.0.0.1:{real}/v1/images", auth),
        running(target.baseline_command(base), paths[target.baseline_name], auth),
    ):
        _header(args, target)
        reference = 0.0
        for name, url in paths.items():
            rate, _, _ = wrk(url, token, args.duration, args.connections)
            _get(url, auth)  # queued behind what wrk left in flight: the server is idle again
            _, p50, p99 = wrk(url, token, args.latency_duration, 1)
            reference = reference or rate
            results[name] = Figures(rate, rate / reference, p50, p99)
            print(_row(name, results[name]), flush=True)
    if PAGE_1 in results and PAGE_400 in results:
        ratio = results[PAGE_400].p50 / results[PAGE_1].p50
        print(f"page 400 / page 1, p50 at c1: {ratio:.2f} (target <= 2)")
    return results


# ---------------------------------------------------------------- several sizes


def _size_label(rows: int) -> str:
    if rows >= 1_000_000 and rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    return f"{rows // 1000}k" if rows % 1000 == 0 else f"{rows:,}"


def print_scaling(backend: str, by_size: dict[int, Results]) -> None:
    """p50 at one connection per endpoint and size, and largest/smallest size."""
    sizes = sorted(by_size)
    labels = [_size_label(s) for s in sizes]
    ratio = f"{labels[-1]}/{labels[0]}"
    print(f"\n{backend}, p50 ms over 1 connection by size (target: {ratio} <= 1.5)")
    print(_markdown([f"{'endpoint':28}", *labels, ratio]))
    print(_markdown(["---"] * (len(sizes) + 2)))
    for name in by_size[sizes[0]]:
        p50s = [by_size[s][name].p50 for s in sizes if name in by_size[s]]
        if len(p50s) < len(sizes):
            continue
        cells = [f"{p:8.2f}" for p in p50s]
        print(_markdown([f"{name:28}", *cells, f"{p50s[-1] / p50s[0]:6.2f}"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rows", default="100000", help="comma-separated sizes, e.g. 10000,1000000"
    )
    parser.add_argument("--duration", type=int, default=8, help="seconds per throughput run")
    parser.add_argument(
        "--latency-duration", type=int, help="seconds per one-connection run (default --duration)"
    )
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/rankion-bench"))
    parser.add_argument(
        "--postgres", metavar="URL", help="benchmark PostgreSQL; databases are made through URL"
    )
    parser.add_argument("--only", default="", help="comma-separated substrings of endpoint names")
    args = parser.parse_args()
    args.latency_duration = args.latency_duration or args.duration
    sizes = sorted(int(s) for s in args.rows.split(",") if s)
    wanted = [w for w in args.only.split(",") if w]
    by_size: dict[int, Results] = {}
    for rows in sizes:
        if args.postgres:
            target = prepare_postgres(args.postgres, args.dir, rows)
        else:
            target = prepare_sqlite(args.dir, rows)
        by_size[rows] = bench(target, args, wanted)
    if len(sizes) > 1:
        print_scaling(target.backend, by_size)


if __name__ == "__main__":
    main()
