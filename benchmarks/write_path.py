"""The write path of the real server against raw-driver handlers doing the same writes.

    .venv/bin/python -m benchmarks.write_path [--duration 5] [--rounds 2]
        [--dir /tmp/rankion-bench] [--only generate,favorite]
        [--postgres postgresql://postgres@127.0.0.1:5432/test]

Makes a fresh data dir ``--dir/write`` (SQLite), or with ``--postgres`` a fresh
database ``<the URL's database>_write`` created through that URL (``--pg-database``
names another; ``--dir/write-pg`` then only holds the URL-signing secret): a team with
a billion credits, a project, a token and one image (queued through the API, never
run: no workers). Then starts ``rankion serve --no-workers`` with the per-team abuse
limits off (``RANKION_MAX_ACTIVE_JOBS=0``, ``RANKION_CHARGE_RATE=0``,
``RANKION_WRITE_RATE=0``: ``NO_LIMITS``) and the baseline on the same database
(``benchmarks.write_baseline``, raw ``sqlite3``, or ``benchmarks.write_baseline_pg``,
a raw ``asyncpg`` pool of 5), and loads, with ``wrk -t1``:

| server | baseline | connections |
|---|---|---|
| ``POST /v1/generate/image`` | one transaction: image, tags, job, charge, ledger | 16 |
| ``PATCH /v1/images/{id}`` (title) | one ``UPDATE`` | 32 |
| ``POST /v1/images/{id}/favorite`` | one ``UPDATE`` | 32 |
| ``POST /v1/projects/{p}/calendar`` | one ``INSERT`` | 32 |

each pair alternately ``--rounds`` times for ``--duration`` seconds (the best run of
each counts), and prints req/s, p50, p99, the ratio and the server's CPU time per request
(its ``utime + stime`` over the requests wrk saw answered, in that best run: a measure the
machine's other load moves less than the rate) as Markdown. Load stays on
loopback and is bounded in time; a non-2xx answer aborts the run.
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
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .list_endpoint import RANKION, _admin, _free_port, _markdown, _ms, _with_database, running

NO_LIMITS = {"RANKION_MAX_ACTIVE_JOBS": "0", "RANKION_CHARGE_RATE": "0", "RANKION_WRITE_RATE": "0"}
GENERATE = {"prompt": "a lighthouse at dusk", "size": "256x256", "tags": ["bench", "write"]}


#: the database of a ``--postgres`` run (after the URL's own), dropped and made anew each run
PG_SUFFIX = "_write"


def _pg_database(url: str) -> str:
    """``<the URL's database>_write``: two runs through different URLs never share one."""
    name = urlsplit(url).path.lstrip("/") or "rankion_bench"
    return name + PG_SUFFIX


def _listener_pid(port: int) -> int:
    """The process listening on ``port`` on loopback (``ss``)."""
    out = subprocess.run(
        ["ss", "-Htlnp", f"sport = :{port}"], check=True, capture_output=True, text=True
    ).stdout
    found = re.search(r"pid=(\d+)", out)
    if found is None:
        raise RuntimeError(f"nothing listens on {port}: {out!r}")
    return int(found.group(1))


def _cpu_seconds(pid: int) -> float:
    """``pid``'s user + system CPU time so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cli(where: list[str], *args: str) -> str:
    command = [RANKION, *where, *args]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return out.strip().splitlines()[-1]


def _api(base: str, method: str, path: str, token: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read() or b"null")


def _script(method: str, body: Any, token: str | None) -> str:
    headers = 'wrk.headers["Content-Type"] = "application/json"\n'
    if token:
        headers += f'wrk.headers["Authorization"] = "Bearer {token}"\n'
    payload = json.dumps(json.dumps(body)) if body is not None else '""'
    return f'wrk.method = "{method}"\nwrk.body = {payload}\n{headers}'


def wrk(url: str, script: str, seconds: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
        out = subprocess.run(
            [*command, "--timeout", "30s", "-s", lua.name, url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered errors:\n{out}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    if rate is None or done is None:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    return {
        "rate": float(rate.group(1)),
        "p50": _ms(out, "50"),
        "p99": _ms(out, "99"),
        "requests": float(done.group(1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/rankion-bench"))
    parser.add_argument("--only", default="", help="comma-separated substrings of names")
    parser.add_argument(
        "--postgres", metavar="URL", help="benchmark PostgreSQL: a database is made through URL"
    )
    parser.add_argument(
        "--pg-database",
        metavar="NAME",
        help=f"that database's name (default: the URL's database + {PG_SUFFIX!r})",
    )
    args = parser.parse_args()
    data_dir = args.dir / ("write-pg" if args.postgres else "write")
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    where = ["--data-dir", str(data_dir)]
    if args.postgres:
        name = args.pg_database or _pg_database(args.postgres)
        fresh = (
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            f'CREATE DATABASE "{name}"',
        )
        asyncio.run(_admin(args.postgres, *fresh))
        database = _with_database(args.postgres, name)
        where += ["--database", database]
        label, raw_module, raw_target = "PostgreSQL", "benchmarks.write_baseline_pg", database
    else:
        label, raw_module, raw_target = (
            "SQLite",
            "benchmarks.write_baseline",
            str(data_dir / "rankion.db"),
        )
    _cli(where, "migrate")
    team = _cli(where, "team", "create", "writers", "--credits", "1000000000")
    project = _cli(where, "project", "create", "--team", "writers", "Launch")
    token = _cli(where, "token", "create", "--team", "writers")
    real, base = _free_port(), _free_port()
    real_url, base_url = f"http://127.0.0.1:{real}", f"http://127.0.0.1:{base}"
    auth = {"Authorization": f"Bearer {token}"}
    serve = [RANKION, *where, "serve", "--no-workers", "--port", str(real)]
    os.environ.update(NO_LIMITS)  # the server's environment (running() passes it on)
    with running(serve, f"{real_url}/v1/images", auth):
        image = _api(real_url, "POST", "/v1/generate/image", token, GENERATE)["data"]["image_id"]
        baseline = [sys.executable, "-m", raw_module, raw_target]
        baseline += [team, project, str(image), str(base)]
        when = "2027-01-15T09:00:00Z"
        pairs = [
            ("POST /v1/generate/image", "/v1/generate/image", "/generate", "POST", GENERATE, 16),
            (
                "PATCH /v1/images/{id}",
                f"/v1/images/{image}",
                "/image",
                "PATCH",
                {"title": "a new title"},
                32,
            ),
            (
                "POST /v1/images/{id}/favorite",
                f"/v1/images/{image}/favorite",
                "/favorite",
                "POST",
                None,
                32,
            ),
            (
                "POST /v1/projects/{p}/calendar",
                f"/v1/projects/{project}/calendar",
                "/calendar",
                "POST",
                {"title": "launch post", "scheduled_at": when},
                32,
            ),
        ]
        wanted = [w for w in args.only.split(",") if w]
        with running(baseline, f"{base_url}/", {}):
            print(f"\n{label}, {args.duration} s runs, best of {args.rounds} alternate rounds")
            print(
                _markdown(
                    [
                        "operation",
                        "c",
                        "req/s",
                        "p50 ms",
                        "p99 ms",
                        "raw req/s",
                        "raw p99 ms",
                        "x raw",
                        "server CPU us/req",
                    ]
                )
            )
            print(_markdown(["---"] * 9))
            server = _listener_pid(real)
            for name, ours, theirs, method, body, connections in pairs:
                if wanted and not any(w in name for w in wanted):
                    continue
                mine, raw = [], []
                for _ in range(args.rounds):
                    raw.append(
                        wrk(
                            base_url + theirs,
                            _script(method, body, None),
                            args.duration,
                            connections,
                        )
                    )
                    before = _cpu_seconds(server)
                    mine.append(
                        wrk(
                            real_url + ours,
                            _script(method, body, token),
                            args.duration,
                            connections,
                        )
                    )
                    mine[-1]["cpu"] = (_cpu_seconds(server) - before) / mine[-1]["requests"]
                m = max(mine, key=lambda f: f["rate"])
                r = max(raw, key=lambda f: f["rate"])
                cells = [
                    f"{m['rate']:,.0f}",
                    f"{m['p50']:.2f}",
                    f"{m['p99']:.2f}",
                    f"{r['rate']:,.0f}",
                    f"{r['p99']:.2f}",
                    f"{m['rate'] / r['rate']:.2f}",
                    f"{m['cpu'] * 1e6:,.0f}",
                ]
                print(_markdown([name, str(connections), *cells]), flush=True)


if __name__ == "__main__":
    main()
