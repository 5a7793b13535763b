"""Fair service between teams: (a) a victim's generation under attack next to idle,
(b) the cost of one claim with 1 team vs 1,000 teams with queued work.

    .venv/bin/python -m benchmarks.fairness [--backlog 1000] [--hooks 30] [--teams 1000]
        [--per-team 5] [--claims 200] [--postgres URL]

(a) A real server (``create_app``, 2 image workers, procedural provider) on a fresh
SQLite file, on 127.0.0.1. The victim's time is from ``POST /v1/generate/image`` until
its image reads ``ready`` (polled every 20 ms), median of 3, first on the idle server,
then with an attacker holding ``--backlog`` queued generations and ``--hooks`` webhooks
to a local receiver that accepts and never answers, fired by one calendar change.
Target (api.md, Fair service): under attack at most 2 x idle + 1 s.

(b) The storage alone. The same number of queued generations (``--teams`` x
``--per-team``) is held by 1 team, then by ``--teams`` teams, with the turns the fair
queue gives them (two databases, measured alternately); one claim (and one enqueue) is
timed ``--claims`` times inside a transaction that is rolled back, so every run sees
the same queue. SQLite, and
PostgreSQL with ``--postgres`` (a schema of its own, dropped after). Target: the
claim with 1,000 teams costs at most 2 x the claim with 1 team.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import insert, text

from rankion_core import Actor, Rankion
from rankion_core.models import EventStatus, Job, JobKind, JobStatus
from rankion_core.rules.calendar import EventDraft
from rankion_core.rules.fairness import Lane
from rankion_core.services.creation import GenerateRequest
from rankion_server.app import create_app
from rankion_server.config import ServerConfig
from rankion_server.keys import RANKION
from rankion_sqlalchemy import SqlStorage, open_storage
from rankion_sqlalchemy.tables import jobs, teams
from tests.hostile.fairness import silent_receiver

START = datetime(2026, 1, 1, tzinfo=UTC)

# ---------------------------------------------------------------- (a) latency


@asynccontextmanager
async def running_server(folder: Path) -> AsyncIterator[tuple[str, Rankion]]:
    config = ServerConfig.from_options(
        data_dir=str(folder),
        workers=2,
        max_active_jobs=0,
        charge_rate=0,
        write_rate=0,
        max_webhooks=0,
        webhooks_allow_private=True,
    )
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", app[RANKION]
    finally:
        await runner.cleanup()


async def victim_seconds(session: aiohttp.ClientSession, base: str, token: str) -> float:
    auth = {"Authorization": f"Bearer {token}"}
    body = {"prompt": "the victim's one image", "size": "256x256"}
    started = time.perf_counter()
    async with session.post(f"{base}/v1/generate/image", json=body, headers=auth) as reply:
        image_id = (await reply.json())["data"]["image_id"]
    while True:
        async with session.get(f"{base}/v1/images/{image_id}", headers=auth) as reply:
            status = (await reply.json())["data"]["processing_status"]
        if status == "ready":
            return time.perf_counter() - started
        if status == "failed":
            raise SystemExit("the victim's image failed")
        await asyncio.sleep(0.02)


async def latency(backlog: int, hooks: int) -> tuple[float, float, int]:
    """Idle and attacked medians, and the attacker's jobs still queued at the end."""
    with tempfile.TemporaryDirectory() as folder:
        async with running_server(Path(folder)) as (base, app), silent_receiver() as url:
            victim = await app.accounts.create_team("victim", 1000)
            attacker = await app.accounts.create_team("attacker", 5 * backlog + 100)
            token = (await app.accounts.create_token(victim.id)).secret
            them = Actor(team_id=attacker.id)
            for _ in range(hooks):
                await app.webhooks.create(them, url, ["calendar.event.changed"])
            project = await app.accounts.create_project(them, "Launch")
            async with aiohttp.ClientSession() as session:
                idle = statistics.median(
                    [await victim_seconds(session, base, token) for _ in range(3)]
                )
                for n in range(backlog):
                    request = GenerateRequest(prompt=f"flood {n}", size="256x256")
                    await app.creation.generate(them, request)
                await app.calendar.create(
                    them, project.id, EventDraft(title="bells", status=EventStatus.IDEA)
                )
                busy = statistics.median(
                    [await victim_seconds(session, base, token) for _ in range(3)]
                )
            async with app.deps.storage.unit_of_work() as uow:
                left = await uow.jobs.count_active(attacker.id, [JobKind.GENERATE])
    return idle, busy, left


# ---------------------------------------------------------------- (b) claim cost


async def seed_queue(storage: SqlStorage, team_count: int, total: int) -> None:
    """``total`` queued generations spread over ``team_count`` teams, turns as the fair
    queue gives them (each team's jobs take turns 0, 1, 2, … in the image lane)."""
    per_team = total // team_count
    async with storage.engine.begin() as connection:
        await connection.execute(jobs.delete())
        await connection.execute(teams.delete())
        await connection.execute(
            insert(teams),
            [
                {"id": t + 1, "name": f"t{t}", "credits": 0, "created_at": START}
                for t in range(team_count)
            ],
        )
        rows = [
            {
                "team_id": t + 1,
                "kind": JobKind.GENERATE,
                "status": JobStatus.QUEUED,
                "created_at": START,
                "payload": {},
                "attempts": 0,
                "max_attempts": 3,
                "lane": Lane.IMAGE.value,
                "turn": n,
            }
            for n in range(per_team)
            for t in range(team_count)
        ]
        for start in range(0, len(rows), 5000):
            await connection.execute(insert(jobs), rows[start : start + 5000])
        if storage.dialect == "postgresql":
            await connection.execute(text("ANALYZE jobs"))


async def once(storage: SqlStorage, action: Callable[[Any], Awaitable[Any]]) -> float:
    """Milliseconds of ``action(uow)`` in a transaction that is rolled back."""
    async with storage.unit_of_work() as uow:
        started = time.perf_counter()
        await action(uow)
        return (time.perf_counter() - started) * 1000


async def claim_costs(
    one: SqlStorage, many: SqlStorage, teams_: int, per_team: int, runs: int
) -> dict[str, float]:
    """Medians over ``runs``, the two queues measured alternately (so that the load of
    a shared machine falls on both alike)."""
    now = datetime.now(UTC)
    kinds = [JobKind.GENERATE, JobKind.EDIT]

    async def claim(uow: Any) -> None:
        assert await uow.jobs.claim("bench", now, now + timedelta(minutes=1), kinds) is not None

    async def enqueue(uow: Any) -> None:
        await uow.jobs.add(Job(0, 1, JobKind.GENERATE, JobStatus.QUEUED, START))

    await seed_queue(one, 1, teams_ * per_team)
    await seed_queue(many, teams_, teams_ * per_team)
    samples: dict[str, list[float]] = {}
    for n in range(runs + 10):  # the first 10 warm the caches
        for name, storage in (("1", one), ("n", many)):
            for what, action in (("claim", claim), ("enqueue", enqueue)):
                took = await once(storage, action)
                if n >= 10:
                    samples.setdefault(f"{what} {name}", []).append(took)
    return {key: statistics.median(values) for key, values in samples.items()}


@asynccontextmanager
async def sql_storage(dialect: str, postgres: str | None) -> AsyncIterator[SqlStorage]:
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            storage = open_storage(f"sqlite:///{folder}/bench.db")
            await storage.migrate()
            try:
                yield storage
            finally:
                await storage.close()
        return
    assert postgres is not None
    schema = f"rankion_fair_{uuid.uuid4().hex[:10]}"
    admin = open_storage(postgres)
    async with admin.engine.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    storage = open_storage(postgres, connect_args={"server_settings": {"search_path": schema}})
    try:
        await storage.migrate()
        yield storage
    finally:
        await storage.close()
        async with admin.engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.close()


# ---------------------------------------------------------------- report


async def main(args: argparse.Namespace) -> None:
    print(
        f"## (a) victim generation, attacker: {args.backlog} queued + {args.hooks} hanging hooks\n"
    )
    idle, busy, left = await latency(args.backlog, args.hooks)
    target = 2 * idle + 1
    verdict = "met" if busy <= target else "MISSED"
    print("| idle s | under attack s | target s | attacker jobs still queued | |")
    print("|---|---|---|---|---|")
    print(f"| {idle:.2f} | {busy:.2f} | ≤ {target:.2f} | {left} | {verdict} |\n")
    total = args.teams * args.per_team
    print(f"## (b) one claim / one enqueue, {total} queued jobs, median of {args.claims} (ms)\n")
    print(
        f"| storage | claim, 1 team | claim, {args.teams} teams | ratio | enqueue, 1 team "
        f"| enqueue, {args.teams} teams | ratio |"
    )
    print("|---|---|---|---|---|---|---|")
    dialects = ["sqlite"] + (["postgresql"] if args.postgres else [])
    for dialect in dialects:
        async with (
            sql_storage(dialect, args.postgres) as one,
            sql_storage(dialect, args.postgres) as many,
        ):
            cost = await claim_costs(one, many, args.teams, args.per_team, args.claims)
        c1, cn, e1, en = cost["claim 1"], cost["claim n"], cost["enqueue 1"], cost["enqueue n"]
        print(
            f"| {dialect} | {c1:.3f} | {cn:.3f} | {cn / c1:.2f} | {e1:.3f} | {en:.3f} "
            f"| {en / e1:.2f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backlog", type=int, default=1000)
    parser.add_argument("--hooks", type=int, default=30)
    parser.add_argument("--teams", type=int, default=1000)
    parser.add_argument("--per-team", type=int, default=5)
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--postgres", help="also measure (b) on this PostgreSQL URL")
    asyncio.run(main(parser.parse_args()))
