"""Job event streams against a real server: a client that leaves costs nothing after
about a second, leaves no traceback in the log, and one team holds at most 20 streams.

The servers run without workers, so a generated image's job stays ``queued`` and its
stream stays open until the client leaves.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.support import Process, Tenant, bootstrap, serve

#: the contract's bound for noticing a gone client is 1 s; this margin is for a busy machine
GONE_WITHIN = 3.0
LIMIT = 20


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Process, Tenant, Tenant]]:
    """A server with the default stream limit, and two teams."""
    data_dir = tmp_path_factory.mktemp("streams-capped")
    one, two = bootstrap(data_dir, team="one"), bootstrap(data_dir, team="two")
    process = serve("--no-workers", data_dir=data_dir)
    yield process, one, two
    process.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        yield client


def _auth(tenant: Tenant) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant.token}"}


async def _queued_job(session: aiohttp.ClientSession, base: str, tenant: Tenant) -> int:
    body = {"prompt": "a lighthouse at dusk", "size": "256x256"}
    async with session.post(f"{base}/v1/generate/image", json=body, headers=_auth(tenant)) as r:
        assert r.status == 202, await r.text()
        return int((await r.json())["data"]["job_id"])


async def _open(
    session: aiohttp.ClientSession, base: str, tenant: Tenant, job_id: int
) -> aiohttp.ClientResponse:
    """A stream that has sent its first event (so the server holds it), or the refusal."""
    resp = await session.get(f"{base}/v1/jobs/{job_id}/events", headers=_auth(tenant))
    if resp.status == 200:
        assert (await resp.content.readline()).startswith(b"id: 1")
    return resp


async def _open_streams(session: aiohttp.ClientSession, base: str) -> int | None:
    """The server's gauge of open event streams (None when it has none)."""
    async with session.get(f"{base}/metrics") as resp:
        text = await resp.text()
    found = re.search(r"^rankion_event_streams_open ([0-9.e+]+)$", text, re.MULTILINE)
    return int(float(found.group(1))) if found else None


async def _until_no_stream_is_open(session: aiohttp.ClientSession, base: str) -> float:
    started = time.monotonic()
    while (count := await _open_streams(session, base)) != 0:
        assert count is not None, "the server does not report its open event streams"
        assert time.monotonic() - started < GONE_WITHIN, f"{count} streams still open"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def test_300_streams_opened_and_left_cost_nothing_a_second_later(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    tenant = bootstrap(tmp_path, team="burst")
    process = serve("--no-workers", data_dir=tmp_path, env={"RANKION_MAX_STREAMS_PER_TEAM": "0"})
    try:
        base = process.base_url
        job_id = await _queued_job(session, base, tenant)
        for _ in range(3):  # 3 bursts of 100 at once
            opening = (_open(session, base, tenant, job_id) for _ in range(100))
            streams = await asyncio.gather(*opening)
            assert {r.status for r in streams} == {200}
            assert await _open_streams(session, base) == 100
            for stream in streams:
                stream.close()
            await _until_no_stream_is_open(session, base)
        assert process.popen is not None
        before = _cpu_seconds(process.popen.pid)
        await asyncio.sleep(1.0)
        busy = _cpu_seconds(process.popen.pid) - before
        assert busy < 0.2, f"the server used {busy:.2f} s of CPU in 1 s after its clients left"
    finally:
        assert process.stop() == 0
    log = process.log()
    assert "Traceback" not in log and "Error handling request" not in log, log[-3000:]


async def test_a_team_holds_20_streams_another_team_still_gets_its_own(
    capped: tuple[Process, Tenant, Tenant], session: aiohttp.ClientSession
) -> None:
    process, one, two = capped
    base = process.base_url
    mine, theirs = await _queued_job(session, base, one), await _queued_job(session, base, two)
    for _ in range(2):  # the count goes down when the clients leave: a second round fits
        streams = await asyncio.gather(*(_open(session, base, one, mine) for _ in range(LIMIT)))
        assert [r.status for r in streams] == [200] * LIMIT
        refused = await _open(session, base, one, mine)
        assert refused.status == 429
        assert int(refused.headers["Retry-After"]) >= 1
        error = (await refused.json())["error"]
        assert error["code"] == "rate_limited" and error["details"]["retry_after"] >= 1
        other = await _open(session, base, two, theirs)
        assert other.status == 200  # another team is not held back
        other.close()
        for stream in streams:
            stream.close()
        await _until_no_stream_is_open(session, base)
    assert "Traceback" not in process.log()


async def test_another_teams_job_is_404_before_the_limit(
    capped: tuple[Process, Tenant, Tenant], session: aiohttp.ClientSession
) -> None:
    process, one, two = capped
    theirs = await _queued_job(session, process.base_url, two)
    resp = await _open(session, process.base_url, one, theirs)
    resp.close()
    assert resp.status == 404
