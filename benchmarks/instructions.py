"""CPU instructions a write costs the real server, against the raw handlers of
``benchmarks.write_path``: a measure the machine's other load does not move.

    apt-get install -y valgrind     # Debian's package; the benchmark drives it
    .venv/bin/python -m benchmarks.instructions [--only favorite,patch]
        [--small 100] [--large 600] [--dir /tmp/rankion-bench]

Wall-clock ratios on a shared machine move by 10-30 % between identical runs; the
instructions a request executes move by a few per cent, and only because SQLite's WAL
checkpoints (each writes the log back into the file) fall on a different number of
the counted requests: more requests (``--large``) spread them thinner.

For each route, in one process, the app (``create_app`` over a SQLite data dir, log
level WARNING, the per-team limits off as in ``write_path``) or the raw handler
(``benchmarks.write_baseline``) serves requests over one loopback keep-alive
connection from a client in the same process.
``valgrind --tool=callgrind`` counts what the process executes for ``--small`` and for
``--large`` requests; the difference over the extra requests is one request's count
(start-up, imports and the client's connection fall out). The client's share (its
HTTP bytes and reads, the same for both columns) stays in: a ratio of these counts
is a little closer to 1 than the servers' alone.

Each run gets its own copy of one data dir made first (``--dir/instructions``: a team,
a project, a token and one image queued through the API, never run), so the two runs
of a route go in parallel. A non-2xx answer aborts the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .list_endpoint import _markdown
from .write_path import GENERATE, NO_LIMITS, _cli

#: route name: (method, the server's path, the raw handler's path, body)
ROUTES: dict[str, tuple[str, str, str, bytes]] = {
    "generate": ("POST", "/v1/generate/image", "/generate", json.dumps(GENERATE).encode()),
    "patch": ("PATCH", "/v1/images/1", "/image", b'{"title":"a new title"}'),
    "favorite": ("POST", "/v1/images/1/favorite", "/favorite", b""),
    "calendar": (
        "POST",
        "/v1/projects/1/calendar",
        "/calendar",
        b'{"title":"launch post","scheduled_at":"2027-01-15T09:00:00Z"}',
    ),
}


async def _serve_and_send(data_dir: Path, route: str, raw: bool, count: int) -> None:
    """Serve ``count`` requests of ``route`` over one keep-alive connection."""
    from aiohttp import web

    from rankion_cli import parse
    from rankion_server.app import create_app
    from rankion_server.commands.base import make_config
    from rankion_server.surface import QuietAppRunner

    from .write_baseline import make_app

    method, ours, theirs, body = ROUTES[route]
    if raw:
        app = make_app(str(data_dir / "rankion.db"), 1, 1, 1)
        path, token = theirs, ""
    else:
        args = parse(["--data-dir", str(data_dir), "serve", "--no-workers"])
        if isinstance(args, int):
            raise SystemExit(args)
        app = create_app(make_config(args, os.environ, workers=0))
        path, token = ours, (data_dir / "token").read_text().strip()
    runner = QuietAppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    request = f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(count):
            writer.write(request)
            answer = await reader.readuntil(b"\r\n\r\n")
            status = answer.split(b" ", 2)[1]
            if not status.startswith(b"2"):
                raise SystemExit(f"{route}: {status.decode()} {answer!r}")
            length = re.search(rb"(?i)content-length: *(\d+)", answer)
            await reader.readexactly(int(length.group(1)) if length else 0)
    finally:
        writer.close()
        await runner.cleanup()


def _counted(seeded: Path, route: str, raw: bool, count: int) -> int:
    """The instructions of a process serving ``count`` requests (on its own copy)."""
    with tempfile.TemporaryDirectory(prefix="rankion-instr-") as scratch:
        data_dir = Path(scratch) / "data"
        shutil.copytree(seeded, data_dir)
        command = [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "benchmarks.instructions",
            "--drive",
            route,
            str(data_dir),
            str(count),
        ]
        if raw:
            command.append("--raw")
        env = {**os.environ, **NO_LIMITS, "RANKION_LOG_LEVEL": "WARNING"}
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise RuntimeError(f"{route}: the counted run failed\n{done.stderr[-3000:]}")
        return int(found.group(1))


def _per_request(seeded: Path, route: str, raw: bool, small: int, large: int) -> float:
    with ThreadPoolExecutor(2) as both:
        few, many = both.map(lambda n: _counted(seeded, route, raw, n), (small, large))
    return (many - few) / (large - small)


def _seed(where: Path) -> None:
    shutil.rmtree(where, ignore_errors=True)
    where.mkdir(parents=True)
    at = ["--data-dir", str(where)]
    _cli(at, "migrate")
    _cli(at, "team", "create", "writers", "--credits", "1000000000")
    _cli(at, "project", "create", "--team", "writers", "Launch")
    (where / "token").write_text(_cli(at, "token", "create", "--team", "writers"))
    # image 1, queued (no workers): what the PATCH and the favourite change
    asyncio.run(_serve_and_send(where, "generate", raw=False, count=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="comma-separated route names")
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=600)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/rankion-bench"))
    parser.add_argument("--drive", nargs=3, metavar=("ROUTE", "DATA_DIR", "COUNT"))
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:  # the counted process
        route, data_dir, count = args.drive
        asyncio.run(_serve_and_send(Path(data_dir), route, args.raw, int(count)))
        return
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is needed: apt-get install -y valgrind")
    os.environ.update(NO_LIMITS, RANKION_LOG_LEVEL="WARNING")
    seeded = args.dir / "instructions"
    _seed(seeded)
    wanted = [r for r in args.only.split(",") if r] or list(ROUTES)
    print(f"\nInstructions a request ({args.large} against {args.small} requests, callgrind)")
    print(_markdown(["route", "server", "raw handler", "x raw"]))
    print(_markdown(["---"] * 4))
    for route in wanted:
        ours = _per_request(seeded, route, False, args.small, args.large)
        theirs = _per_request(seeded, route, True, args.small, args.large)
        cells = [f"{ours / 1e3:,.0f} k", f"{theirs / 1e3:,.0f} k", f"{theirs / ours:.2f}"]
        print(_markdown([route, *cells]), flush=True)


if __name__ == "__main__":
    main()
