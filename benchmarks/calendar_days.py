"""``Calendar.days`` (``GET …/calendar/days``) over a project with many events.

    .venv/bin/python -m benchmarks.calendar_days [DATABASE_URL] [--events N] [--years Y]
        [--runs R]

Seeds one Europe/Berlin project with N events (default 100,000) spread evenly over Y
years from 2026 (default 1: every event in the year asked for, the worst case), then
asks for the local days of 2026 R times through the service (project lookup, local day
bounds, one index-range count per day and status) and prints p50/p95 in ms. The URL
defaults to a SQLite file in a temporary folder; a PostgreSQL URL uses that database
(its ``calendar_events``/``projects`` tables get the seeded rows of a new team).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert

from rankion_core.models import Actor, EventStatus, EventType
from rankion_core.services import Accounts, Calendar, Deps
from rankion_sqlalchemy import open_storage
from rankion_sqlalchemy.tables import calendar_events

START = datetime(2026, 1, 1, tzinfo=UTC)


async def seed(url: str, events: int, years: int) -> tuple[Calendar, Actor, int]:
    storage = open_storage(url)
    await storage.migrate()
    # the calendar needs storage and a clock only
    deps = Deps(storage, blobs=None, provider=None, codec=None, signer=None)  # type: ignore[arg-type]
    accounts = Accounts(deps)
    team = await accounts.create_team(f"bench-{random.randrange(10**9)}")
    actor = Actor(team_id=team.id)
    project = await accounts.create_project(actor, "Plan", "Europe/Berlin")
    span = years * 365 * 86_400
    statuses, rng = list(EventStatus), random.Random(7)
    rows = [
        {
            "team_id": team.id,
            "project_id": project.id,
            "title": f"Post {n}",
            "type": EventType.ARTICLE,
            "status": rng.choice(statuses),
            "scheduled_at": START + timedelta(seconds=rng.randrange(span)),
            "created_at": START,
            "updated_at": START,
        }
        for n in range(events)
    ]
    async with storage.engine.begin() as connection:
        for chunk in range(0, len(rows), 5_000):
            await connection.execute(insert(calendar_events), rows[chunk : chunk + 5_000])
        if storage.dialect == "postgresql":
            await connection.exec_driver_sql("ANALYZE calendar_events")
        else:
            await connection.exec_driver_sql("ANALYZE")
    return Calendar(deps), actor, project.id


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    url = args.url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/calendar.db"
    calendar, actor, project = await seed(url, args.events, args.years)
    start = datetime(2026, 1, 1, tzinfo=UTC) - timedelta(hours=1)  # Berlin's 1 January
    end = datetime(2026, 12, 31, 23, tzinfo=UTC) - timedelta(microseconds=1)
    timings, days = [], []
    for _ in range(args.runs + 3):
        began = time.perf_counter()
        days = await calendar.days(actor, project, start, end)
        timings.append((time.perf_counter() - began) * 1000)
    timings = sorted(timings[3:])  # the first runs warm caches and compile statements
    counted = sum(d.total for d in days)
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(
        f"{url.split(':')[0]}: {args.events} events over {args.years} year(s), "
        f"{len(days)} days with {counted} events in 2026: "
        f"p50 {statistics.median(timings):.1f} ms, p95 {p95:.1f} ms ({args.runs} runs)"
    )


if __name__ == "__main__":
    asyncio.run(main())
