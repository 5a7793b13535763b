"""Fair service under attack, against real processes: an attacker with a backlog of
generations and 30 webhooks to a receiver that never answers cannot slow another team's
single generation beyond twice its idle time + 1 s (api.md, Fair service).

SQLite: one ``rankion serve`` with its own workers. PostgreSQL: ``serve --no-workers``
beside two ``rankion worker`` processes (skipped without ``RANKION_TEST_POSTGRES_URL``).
Without fair claims the victim's job waits behind the whole backlog; with deliveries in
the image loops, 30 hanging deliveries hold every loop for 10 s.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.e2e.support import Api, bootstrap, http_session, serve, worker
from tests.e2e.test_scale_out import pg_database  # noqa: F401 (a fixture)

from .fairness import (
    ATTACK_ENV,
    fire_hooks,
    generation_seconds,
    hook_the_calendar,
    idle_seconds,
    queue_backlog,
    silent_receiver,
    still_queued,
)

BACKLOG = 300
HOOKS = 30


async def attack_and_measure(victim: Api, attacker: Api, attacker_project: int) -> None:
    async with silent_receiver() as url:
        await hook_the_calendar(attacker, url, HOOKS)
        idle = await idle_seconds(victim)
        last = await queue_backlog(attacker, BACKLOG)
        await fire_hooks(attacker, attacker_project)
        busy = await generation_seconds(victim, "the victim's one image")
        backlog_left = await still_queued(attacker, last)
    assert busy <= 2 * idle + 1, f"ready in {busy:.2f}s under attack, {idle:.2f}s idle"
    assert backlog_left, "the backlog had drained: the attack was too small to prove anything"


async def test_a_backlog_and_hanging_webhooks_do_not_stall_another_team(tmp_path: Path) -> None:
    victim = bootstrap(tmp_path, team="victim")
    attacker = bootstrap(tmp_path, team="attacker", credits=5 * BACKLOG + 100)
    process = serve("--workers", "2", data_dir=tmp_path, env=ATTACK_ENV)
    async with http_session() as session:
        await attack_and_measure(
            Api(session, process.base_url, victim.token),
            Api(session, process.base_url, attacker.token),
            attacker.project_id,
        )


async def test_the_same_with_separate_workers_on_postgres(
    tmp_path: Path,
    pg_database: str,  # noqa: F811 (the fixture imported above)
) -> None:
    env = {
        **ATTACK_ENV,
        "RANKION_DATABASE_URL": pg_database,
        "RANKION_BLOBS_URL": str(tmp_path / "blobs"),
        "RANKION_SECRET": secrets.token_hex(32),
        "RANKION_POLL_SECONDS": "0.2",
    }
    victim = bootstrap(None, team="victim", credits=100, env=env)
    attacker = bootstrap(None, team="attacker", credits=5 * BACKLOG + 100, env=env)
    server = serve("--no-workers", logs=tmp_path, env=env)
    for name in ("worker-a", "worker-b"):
        worker("--concurrency", "1", name=name, logs=tmp_path, env=env)
    async with http_session() as session:
        await attack_and_measure(
            Api(session, server.base_url, victim.token),
            Api(session, server.base_url, attacker.token),
            attacker.project_id,
        )
