"""``kill -9`` a real ``rankion serve`` half-way through 50 generations, start it
again on the same data dir: no job is lost, stuck, run to completion twice or
charged twice.

The jobs held by the dead process come back once their lease (3 s here, through
``RANKION_LEASE_SECONDS``) runs out; the queued ones are claimed at once. Two
``[reject]`` and two ``[flaky]`` prompts make sure failures, retries across the
crash and their refunds are counted too.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

from rankion_server import wiring
from rankion_server.config import ServerConfig
from rankion_server.maintenance_checks import orphan_blobs

from .support import NO_LIMITS, Api, Process, cli_value, http_session, poll, serve

JOBS = 50
CREDITS = 1000
LEASE = 3.0
FAILING = {3: "[flaky] storm", 9: "[reject] not allowed", 12: "[flaky] gust", 30: "[reject] nope"}
PROMPTS = [FAILING.get(n, f"a lighthouse at dusk, take {n}") for n in range(JOBS)]
SERVE_ARGS = ("--workers", "2", "--provider-option", "delay=0.3")


def job_states(database: Path) -> dict[int, tuple[str, int]]:
    """Job id → (status, attempts), read straight from the SQLite file."""
    with sqlite3.connect(database) as db:
        rows = db.execute("SELECT id, status, attempts FROM jobs").fetchall()
    return {int(i): (str(s), int(a)) for i, s, a in rows}


async def submit_all(api: Api) -> list[tuple[int, int]]:
    """Every generation at once (10 in flight): ``(job_id, image_id)`` in prompt order."""
    gate = asyncio.Semaphore(10)

    async def one(prompt: str) -> tuple[int, int]:
        async with gate:
            body = {"prompt": prompt, "size": "256x256"}
            data = (await api.ok("POST", "/v1/generate/image", body, status=202))["data"]
            return int(data["job_id"]), int(data["image_id"])

    return list(await asyncio.gather(*(one(p) for p in PROMPTS)))


async def unfinished(api: Api) -> int:
    return await api.total("/v1/images?status=queued,processing&per_page=1")


async def check_ledger(api: Api, made: list[tuple[int, int]], failed_jobs: set[int]) -> None:
    balance = (await api.data("/v1/credits"))["balance"]
    ready = JOBS - len(failed_jobs)
    assert balance == CREDITS - 5 * ready
    entries = await api.all_pages("/v1/credits/ledger")
    assert sum(e["delta"] for e in entries) == balance
    charges = sorted((e["job_id"], e["image_id"]) for e in entries if e["reason"] == "generate")
    assert charges == sorted(made), "every job charged exactly once"
    assert all(e["delta"] == -5 for e in entries if e["reason"] == "generate")
    refunds = sorted(e["job_id"] for e in entries if e["reason"] == "refund")
    assert refunds == sorted(failed_jobs), "every failed job refunded exactly once"
    assert all(e["delta"] == 5 for e in entries if e["reason"] == "refund")


async def check_images(api: Api, made: list[tuple[int, int]]) -> set[int]:
    """Every image ended as its prompt says; each ready one downloads. The failed jobs."""
    failed_jobs: set[int] = set()
    for n, (job_id, image_id) in enumerate(made):
        image = await api.data(f"/v1/images/{image_id}")
        job = await api.data(f"/v1/jobs/{job_id}")
        if n in FAILING:
            assert (image["processing_status"], job["status"]) == ("failed", "failed"), image
            assert image["error"]
            assert image["credits_charged"] == 0
            failed_jobs.add(job_id)
            continue
        assert (image["processing_status"], job["status"]) == ("ready", "succeeded"), image
        body = await api.download(image["url"])
        assert body.startswith(b"\x89PNG")
        assert len(body) == image["bytes"]
    return failed_jobs


async def kill_mid_way(api: Api, first: Process) -> None:
    """Wait until a quarter of the images are ready, then ``kill -9``."""

    async def a_quarter_ready() -> bool:
        return await api.total("/v1/images?status=ready&per_page=1") >= JOBS // 4

    await poll(a_quarter_ready, within=60, every=0.05, what="a quarter of the images")
    first.kill9()


async def orphans_in(data_dir: Path) -> set[str]:
    app = await wiring.build(ServerConfig.from_options(data_dir=str(data_dir), workers=0))
    try:
        return await orphan_blobs(app)
    finally:
        await wiring.close(app)


async def run_crash(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {**NO_LIMITS, "RANKION_LEASE_SECONDS": str(LEASE), "RANKION_POLL_SECONDS": "0.2"}
    cli_value("team", "create", "crash", "--credits", str(CREDITS), data_dir=data_dir, env=env)
    token = cli_value("token", "create", "--team", "crash", data_dir=data_dir, env=env)
    where: dict[str, Any] = {"data_dir": data_dir, "logs": tmp_path, "env": env}
    first = serve(*SERVE_ARGS, name="serve-1", **where)
    async with http_session() as session:
        api = Api(session, first.base_url, token)
        made = await submit_all(api)
        await kill_mid_way(api, first)

        at_kill = job_states(data_dir / "rankion.db")
        held = {job for job, (status, _) in at_kill.items() if status == "running"}
        waiting = [job for job, (status, _) in at_kill.items() if status == "queued"]
        assert held, f"nothing was running at the kill: {at_kill}"
        assert len(waiting) >= JOBS // 4, "the kill came too late to be mid-way"

        killed_at = time.monotonic()
        second = serve(*SERVE_ARGS, name="serve-2", **where)
        restarted_in = time.monotonic() - killed_at
        api = Api(session, second.base_url, token)

        async def held_jobs_done() -> bool:
            now = job_states(data_dir / "rankion.db")
            return all(now[job][0] in ("succeeded", "failed") for job in held)

        # Their leases ran out while the process restarted: they are taken over first
        # (the slack is for a loaded machine; unloaded it takes about one job's time).
        await poll(held_jobs_done, within=LEASE + 7, every=0.1, what="the held jobs")

        async def nothing_left() -> bool:
            return await unfinished(api) == 0

        await poll(nothing_left, within=45, what="every image to end")
        print(
            f"killed with {len(held)} jobs held and {len(waiting)} queued; restarted in "
            f"{restarted_in:.1f} s; all ended {time.monotonic() - killed_at:.1f} s after the kill"
        )
        final = job_states(data_dir / "rankion.db")
        assert all(status in ("succeeded", "failed") for status, _ in final.values()), final
        assert all(final[job][1] >= 2 for job in held), "a held job was not claimed again"
        failed_jobs = await check_images(api, made)
        assert failed_jobs == {made[n][0] for n in FAILING}
        await check_ledger(api, made, failed_jobs)
    assert second.stop() == 0
    orphans = await orphans_in(data_dir)
    # Only what the killed process was writing may be left: an image and a thumbnail
    # per job in hand, never more.
    print(f"orphan blobs left by the kill: {len(orphans)}")
    assert len(orphans) <= 2 * len(held), orphans
    assert all(key.startswith(("images/", "thumbnails/")) for key in orphans), orphans


async def test_kill_9_mid_way_loses_nothing_and_charges_once(tmp_path: Path) -> None:
    started = time.monotonic()
    await run_crash(tmp_path)
    print(f"crash test: {time.monotonic() - started:.1f} s")
