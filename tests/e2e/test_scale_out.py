"""The scale-out topology for real: ``rankion serve --no-workers`` processes beside
``rankion worker`` processes, sharing one database and one blob store.

- On SQLite (always runs): a ``serve --no-workers`` only queues; a separate worker
  process on the same data dir does the job.
- On PostgreSQL + S3 (moto; skipped without ``RANKION_TEST_POSTGRES_URL``): two
  servers, two workers, a fresh database per run and a versioned bucket, so every
  blob write ever made can be counted. 100 generations go round-robin to both
  servers; one worker is killed with ``-9`` mid-way. Every job must run to completion
  exactly once: one charge each, no refund, one image write per job plus at most
  one per job the dead worker held (left as an orphan, never referenced), and no
  write discarded by a fenced-out finish.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from rankion_server import wiring
from rankion_server.config import ServerConfig
from rankion_server.maintenance_checks import orphan_blobs

from .support import (
    NO_LIMITS,
    Api,
    Process,
    cli_value,
    generate,
    http_session,
    poll,
    serve,
    worker,
)

if TYPE_CHECKING:
    from tests.support.moto_server import MotoS3

POSTGRES_URL = os.environ.get("RANKION_TEST_POSTGRES_URL")
JOBS = 100
CREDITS = 1000
LEASE = 3.0
WORKER_ARGS = ("--concurrency", "2", "--provider-option", "delay=0.2")


# ---------------------------------------------------------------- SQLite, one box


async def test_a_separate_worker_runs_what_a_no_workers_server_queued(tmp_path: Path) -> None:
    env = {**NO_LIMITS, "RANKION_POLL_SECONDS": "0.2"}
    where: dict[str, Any] = {"data_dir": tmp_path / "data", "env": env}
    cli_value("team", "create", "box", "--credits", "50", **where)
    token = cli_value("token", "create", "--team", "box", **where)
    server = serve("--no-workers", logs=tmp_path, **where)
    async with http_session() as session:
        api = Api(session, server.base_url, token)
        body = {"prompt": "a windmill", "size": "256x256"}
        queued = (await api.ok("POST", "/v1/generate/image", body, status=202))["data"]
        await asyncio.sleep(1.0)
        image = await api.data(f"/v1/images/{queued['image_id']}")
        assert image["processing_status"] == "queued", "serve --no-workers ran a job"

        jobs = worker("--concurrency", "1", logs=tmp_path, **where)

        async def ready() -> dict[str, Any] | None:
            found: dict[str, Any] = await api.data(f"/v1/images/{queued['image_id']}")
            return found if found["processing_status"] == "ready" else None

        image = await poll(ready, within=20, what="the image")
        assert (await api.download(image["url"])).startswith(b"\x89PNG")
        job = await api.data(f"/v1/jobs/{queued['job_id']}")
        assert (job["status"], job["attempts"]) == ("succeeded", 1)
    assert jobs.stop() == 0
    assert "stopped" in jobs.log()


# ---------------------------------------------------------------- PostgreSQL + S3


def _database_url(name: str) -> str:
    from sqlalchemy.engine import make_url

    assert POSTGRES_URL is not None
    return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """A database of its own for this run (``rankion_scale_<random>``), dropped after."""
    if POSTGRES_URL is None:
        pytest.skip("RANKION_TEST_POSTGRES_URL is not set (postgresql://user@host:port/db)")
    asyncpg = pytest.importorskip("asyncpg", reason="the PostgreSQL tests need asyncpg")
    admin_url = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    try:
        admin = await asyncpg.connect(admin_url, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL at RANKION_TEST_POSTGRES_URL is unreachable: {exc}")
    name = f"rankion_scale_{uuid.uuid4().hex[:12]}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield _database_url(name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[MotoS3]:
    """A moto S3 server of its own, with a versioned bucket: every PUT is kept as a
    version, every delete leaves a marker. Its address and fake credentials are in the
    environment while the test runs."""
    pytest.importorskip("moto", reason="the S3 tests need moto (pip install 'rankion[dev]')")
    pytest.importorskip("s3fs", reason="the S3 tests need s3fs (pip install 'rankion[s3]')")
    from tests.support.moto_server import running_moto_s3

    with running_moto_s3(bucket=f"rankion-scale-{uuid.uuid4().hex[:12]}") as server:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        for name, value in server.env().items():
            monkeypatch.setenv(name, value)
        client = _s3_client(server)
        try:
            client.put_bucket_versioning(
                Bucket=server.bucket, VersioningConfiguration={"Status": "Enabled"}
            )
        finally:
            client.close()
        yield server


def _s3_client(server: MotoS3) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=server.endpoint_url, region_name=server.region)


def blob_history(server: MotoS3, prefix: str) -> tuple[dict[str, int], set[str], int]:
    """Writes per key kind (``images``, ``thumbnails``…), current keys, delete markers."""
    s3 = _s3_client(server)
    bucket = server.bucket
    writes: dict[str, int] = {}
    current: set[str] = set()
    markers = 0
    try:
        for page in s3.get_paginator("list_object_versions").paginate(
            Bucket=bucket, Prefix=prefix + "/"
        ):
            for version in page.get("Versions", []):
                key = version["Key"].removeprefix(prefix + "/")
                kind = key.split("/", 1)[0]
                writes[kind] = writes.get(kind, 0) + 1
                if version["IsLatest"]:
                    current.add(key)
            markers += len(page.get("DeleteMarkers", []))
    finally:
        s3.close()
    return writes, current, markers


async def fetch_rows(database_url: str, sql: str) -> list[Any]:
    import asyncpg

    connection = await asyncpg.connect(database_url)
    try:
        return list(await connection.fetch(sql))
    finally:
        await connection.close()


async def submit_round_robin(apis: list[Api]) -> list[tuple[int, int]]:
    gate = asyncio.Semaphore(10)

    async def one(n: int) -> tuple[int, int]:
        body = {"prompt": f"a harbour crane, take {n}", "size": "256x256"}
        async with gate:
            reply = await apis[n % len(apis)].ok("POST", "/v1/generate/image", body, status=202)
        return int(reply["data"]["job_id"]), int(reply["data"]["image_id"])

    return list(await asyncio.gather(*(one(n) for n in range(JOBS))))


async def read_everywhere(apis: list[Api], image_id: int) -> None:
    """The image is ready and the same bytes through every server."""
    bodies = []
    for api in apis:
        image = await api.data(f"/v1/images/{image_id}")
        assert image["processing_status"] == "ready", image
        body = await api.download(image["url"])
        assert body.startswith(b"\x89PNG")
        assert len(body) == image["bytes"]
        bodies.append(body)
    assert all(body == bodies[0] for body in bodies)


async def orphans_of(database_url: str, blobs_url: str) -> set[str]:
    # as a ``rankion`` command would: the moto fixture's endpoint is in the environment
    config = ServerConfig.from_env(os.environ, database=database_url, blobs=blobs_url, workers=0)
    app = await wiring.build(config)
    try:
        return await orphan_blobs(app)
    finally:
        await wiring.close(app)


async def test_two_servers_two_workers_on_postgres_and_s3_survive_a_worker_kill(
    tmp_path: Path,
    pg_database: str,
    s3: MotoS3,
) -> None:
    prefix = "rankion"
    blobs_url = f"s3://{s3.bucket}/{prefix}"
    env = {
        **NO_LIMITS,
        **s3.env(),
        "RANKION_DATABASE_URL": pg_database,
        "RANKION_BLOBS_URL": blobs_url,
        "RANKION_SECRET": secrets.token_hex(32),
        "RANKION_LEASE_SECONDS": str(LEASE),
        "RANKION_POLL_SECONDS": "0.2",
    }
    cli_value("team", "create", "scale", "--credits", str(CREDITS), env=env)  # migrates first
    token = cli_value("token", "create", "--team", "scale", env=env)
    where: dict[str, Any] = {"logs": tmp_path, "env": env, "wait": False}
    servers = [serve("--no-workers", name=f"serve-{n}", **where) for n in "ab"]
    workers = [worker(*WORKER_ARGS, name=f"worker-{n}", **where) for n in "ab"]
    for proc in [*servers, *workers]:
        proc.wait_ready()
    async with http_session() as session:
        apis = [Api(session, s.base_url, token) for s in servers]
        await run_scale(apis, workers, pg_database, s3, prefix)
    for proc in [*servers, workers[1]]:
        assert proc.stop() == 0, proc.log()
    orphans = await orphans_of(pg_database, blobs_url)
    _, current, _ = blob_history(s3, prefix)
    # renditions and clean copies a killed worker left are orphans too; their own
    # orphan accounting is tested in tests/contract/test_web_ready.py
    originals = {k for k in orphans if k.startswith(("images/", "thumbnails/"))}
    assert originals == {k for k in current if k.startswith(("images/", "thumbnails/"))} - (
        await referenced(pg_database)
    )


async def referenced(database_url: str) -> set[str]:
    rows = await fetch_rows(database_url, "SELECT blob_key, thumbnail_key FROM images")
    return {key for row in rows for key in row if key}


async def run_scale(
    apis: list[Api], workers: list[Process], database_url: str, s3: MotoS3, prefix: str
) -> None:
    made = await submit_round_robin(apis)

    async def a_quarter_ready() -> bool:
        return await apis[0].total("/v1/images?status=ready&per_page=1") >= JOBS // 4

    await poll(a_quarter_ready, within=60, every=0.05, what="a quarter of the images")
    victim = workers[0]
    victim.kill9()
    owner = f"{socket.gethostname()}:{victim.pid}:"
    running = await fetch_rows(
        database_url, "SELECT id, lease_owner FROM jobs WHERE status = 'running'"
    )
    held = {row["id"] for row in running if (row["lease_owner"] or "").startswith(owner)}
    assert held, f"the killed worker held no job: {running}"

    async def all_ready() -> bool:
        return await apis[1].total("/v1/images?status=ready&per_page=1") == JOBS

    await poll(all_ready, within=60, what="every image to be ready")

    # Once each: one charge per job, no refund, and no job finished twice.
    for api in apis:
        assert (await api.data("/v1/credits"))["balance"] == CREDITS - 5 * JOBS
    ledger = await apis[1].all_pages("/v1/credits/ledger")
    charges = sorted((e["job_id"], e["image_id"]) for e in ledger if e["reason"] == "generate")
    assert charges == sorted(made)
    assert not [e for e in ledger if e["reason"] == "refund"]
    jobs = {
        row["id"]: row
        for row in await fetch_rows(database_url, "SELECT id, status, attempts FROM jobs")
    }
    assert all(row["status"] == "succeeded" for row in jobs.values())
    assert all(jobs[job]["attempts"] >= 2 for job in held), "a held job was not taken over"
    retried = {job for job, row in jobs.items() if row["attempts"] > 1}
    assert retried == held, "a job was taken over from a live worker"

    # Every blob write is accounted for: one image per job, plus at most the one
    # each killed job had written without committing; nothing discarded after a
    # fenced-out finish (that would leave a delete marker).
    writes, current, markers = blob_history(s3, prefix)
    keys = await referenced(database_url)
    image_keys = {k for k in keys if k.startswith("images/")}
    assert len(image_keys) == JOBS
    left_over = {k for k in current if k.startswith("images/")} - image_keys
    assert writes["images"] == JOBS + len(left_over), (writes, left_over)
    assert len(left_over) <= len(held)
    assert markers == 0
    assert keys <= current

    # Readable through both servers.
    for _, image_id in made:
        await read_everywhere(apis, image_id)

    # Deleting for good, through one server, removes the blobs for everyone.
    doomed = [image_id for _, image_id in made[:5]]
    for image_id in doomed:
        await apis[0].ok("DELETE", f"/v1/images/{image_id}")
        await apis[1].ok("DELETE", f"/v1/images/{image_id}/forever", status=204)
        assert (await apis[0].get(f"/v1/images/{image_id}")).status == 404
    _, after, _ = blob_history(s3, prefix)
    assert len({k for k in after if k.startswith("images/")} - left_over) == JOBS - len(doomed)
    print(
        f"killed worker held {len(held)} jobs; {len(left_over)} image writes left as "
        f"orphans; image writes {writes['images']} for {JOBS} jobs"
    )


# ---------------------------------------------------------------- share views, two servers

VIEWS = 10_000


async def test_10000_views_over_two_servers_add_up_exactly(
    tmp_path: Path, pg_database: str
) -> None:
    """Views are counted in each process's memory and written in batches: after the
    flush interval the two servers' counts add up to exactly what was served, and a
    graceful stop writes what is still counted."""
    env = {
        **NO_LIMITS,
        "RANKION_DATABASE_URL": pg_database,
        "RANKION_BLOBS_URL": str(tmp_path / "blobs"),
        "RANKION_SECRET": secrets.token_hex(32),
        "RANKION_POLL_SECONDS": "0.2",
    }
    cli_value("team", "create", "viral", "--credits", "10", env=env)
    token = cli_value("token", "create", "--team", "viral", env=env)
    servers = [
        serve("--workers", "1", name="serve-a", logs=tmp_path, env=env),
        serve("--no-workers", name="serve-b", logs=tmp_path, env=env),
    ]
    async with http_session() as session:
        apis = [Api(session, s.base_url, token) for s in servers]
        image = await generate(apis[0], "a lighthouse")
        image_id = image["id"]
        share = await apis[0].ok("POST", f"/v1/images/{image_id}/share", status=201)
        path = "/s/" + share["data"]["token"]
        gate = asyncio.Semaphore(32)

        async def view(server: Process) -> int:
            async with gate, session.get(server.base_url + path) as answer:
                await answer.read()
                return answer.status

        statuses = await asyncio.gather(*(view(servers[n % 2]) for n in range(VIEWS)))
        assert set(statuses) == {200}
        await asyncio.sleep(2.0)  # the contract: visible within 2 s
        counted = await apis[1].data(f"/v1/images/{image_id}")
        assert (counted["share"]["view_count"], counted["share_views"]) == (VIEWS, VIEWS)
        last = await asyncio.gather(*(view(servers[1]) for _ in range(100)))
        assert set(last) == {200}
        # stopped at once: what is still counted is written on the way out
        assert servers[1].stop() == 0
        after = await apis[0].data(f"/v1/images/{image_id}")
        assert after["share"]["view_count"] == VIEWS + 100
