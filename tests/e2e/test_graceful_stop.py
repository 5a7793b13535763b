"""SIGTERM to a real ``rankion serve``: the job in hand finishes before the process
exits 0 (the workers are stopped by the app's cleanup, not cancelled with every other
task), and an open event stream does not hold the stop up."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from .support import Api, bootstrap, http_session, serve

pytestmark = pytest.mark.slow


def job_and_image(data_dir: Path, job_id: int, image_id: int) -> tuple[str, str]:
    with sqlite3.connect(data_dir / "rankion.db") as db:
        (job,) = db.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
        (image,) = db.execute(
            "SELECT processing_status FROM images WHERE id = ?", (image_id,)
        ).fetchone()
    return str(job), str(image)


async def test_a_graceful_stop_finishes_the_job_in_hand(tmp_path: Path) -> None:
    tenant = bootstrap(tmp_path)
    server = serve("--workers", "1", "--provider-option", "delay=3", data_dir=tmp_path)
    async with http_session() as session:
        api = Api(session, server.base_url, tenant.token)
        body = {"prompt": "a lighthouse", "size": "256x256"}
        queued = (await api.ok("POST", "/v1/generate/image", body, status=202))["data"]
    server.wait_for_log("event=job_started")
    assert server.stop() == 0
    assert "event=job_succeeded" in server.log()
    assert job_and_image(tmp_path, queued["job_id"], queued["image_id"]) == (
        "succeeded",
        "ready",
    )


async def test_an_open_event_stream_does_not_hold_up_the_stop(tmp_path: Path) -> None:
    tenant = bootstrap(tmp_path)
    server = serve("--no-workers", data_dir=tmp_path)  # the job stays queued
    async with http_session() as session:
        api = Api(session, server.base_url, tenant.token)
        body = {"prompt": "a lighthouse", "size": "256x256"}
        queued = (await api.ok("POST", "/v1/generate/image", body, status=202))["data"]
        url = api.url(f"/v1/jobs/{queued['job_id']}/events")
        headers = {"Authorization": f"Bearer {tenant.token}"}
        async with session.get(url, headers=headers) as stream:
            assert stream.status == 200
            assert b"event: job" in await stream.content.readuntil(b"\n\n")
            # SIGTERM, then SIGKILL if it has not exited within the harness's stop time
            assert await asyncio.to_thread(server.stop) == 0
