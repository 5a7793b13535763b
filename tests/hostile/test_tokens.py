"""A leaked token can be revoked, and a token may expire: either way it is refused —
with the body an unknown token gets — by every process within 5 s.

Two ``rankion serve --no-workers`` processes share one database (a SQLite file, and a
PostgreSQL database of its own when ``RANKION_TEST_POSTGRES_URL`` is set); each keeps
its own cache of good tokens, which is what must not outlive a revocation.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest

from rankion_client import Client as RankionClient
from tests.e2e.support import NO_LIMITS, Api, Process, cli_value, serve
from tests.e2e.test_scale_out import pg_database

__all__ = ["pg_database"]

#: the contract: a revoked or expired token is 401 on every process within this
WITHIN = 5.0
UNKNOWN = "rk_0123456789abcdef_not-a-token"


def _env(tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> dict[str, str]:
    if backend == "sqlite":
        return {**NO_LIMITS, "RANKION_DATA_DIR": str(tmp_path / "data")}
    database = request.getfixturevalue("pg_database")
    return {
        **NO_LIMITS,
        "RANKION_DATABASE_URL": database,
        "RANKION_BLOBS_URL": str(tmp_path / "blobs"),
        "RANKION_SECRET": secrets.token_hex(32),
    }


@pytest.fixture(params=["sqlite", "postgres"])
def env(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    return _env(tmp_path, request.param, request)


def _token(env: dict[str, str], *extra: str) -> dict[str, object]:
    made: dict[str, object] = json.loads(
        cli_value("token", "create", "--team", "acme", "--json", *extra, env=env)
    )
    return made


def _two_servers(tmp_path: Path, env: dict[str, str]) -> list[Process]:
    """Two ``serve --no-workers`` on one database, started side by side."""
    servers = [
        serve("--no-workers", name=f"serve-{n}", logs=tmp_path, env=env, wait=False) for n in "ab"
    ]
    for server in servers:
        server.wait_ready()
    return servers


async def _status(client: Api) -> int:
    return (await client.get("/v1/credits")).status


async def _refused_everywhere(clients: list[Api], within: float) -> float:
    """Seconds until every client's token is 401 (each asked again and again)."""
    started = time.monotonic()
    pending = list(clients)
    while pending:
        statuses = [await _status(c) for c in pending]
        assert set(statuses) <= {200, 401}, statuses
        pending = [c for c, status in zip(pending, statuses, strict=True) if status != 401]
        waited = time.monotonic() - started
        assert waited <= within or not pending, f"still accepted after {waited:.1f} s"
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_a_revoked_token_is_refused_by_every_process_within_5_s(
    tmp_path: Path, env: dict[str, str], session: aiohttp.ClientSession
) -> None:
    cli_value("team", "create", "acme", "--credits", "10", env=env)  # migrates first
    keeper = str(_token(env)["token"])
    doomed = _token(env, "--user", "leaky")
    servers = _two_servers(tmp_path, env)
    leaked = [Api(session, s.base_url, str(doomed["token"])) for s in servers]
    for client in leaked:  # both processes now hold it in their cache
        assert await _status(client) == 200
    async with RankionClient(servers[0].base_url, keeper, session=session) as admin:
        listed = (await admin.tokens.list()).items
        assert [(t.id, t.user) for t in listed] == [(1, "admin"), (doomed["id"], "leaky")]
        await admin.tokens.revoke(int(str(doomed["id"])))
    assert await _status(leaked[0]) == 401  # the revoking process
    waited = await _refused_everywhere(leaked, WITHIN)
    print(f"revoked token refused by every process after {waited:.2f} s")

    refused = await leaked[1].get("/v1/images")
    unknown = await Api(session, servers[1].base_url, UNKNOWN).get("/v1/images")
    assert (refused.status, refused.json()) == (unknown.status, unknown.json())
    assert await _status(Api(session, servers[1].base_url, keeper)) == 200


async def test_an_expired_token_is_refused_by_every_process(
    tmp_path: Path, session: aiohttp.ClientSession, request: pytest.FixtureRequest
) -> None:
    env = _env(tmp_path, "sqlite", request)
    cli_value("team", "create", "acme", "--credits", "10", env=env)
    servers = _two_servers(tmp_path, env)
    brief = _token(env, "--expires-in", str(8 / 86400))  # eight seconds
    expires_at = datetime.fromisoformat(str(brief["expires_at"]))
    clients = [Api(session, s.base_url, str(brief["token"])) for s in servers]
    for client in clients:  # cached in both processes while still valid
        assert await _status(client) == 200
    left = (expires_at - datetime.now(UTC)).total_seconds()
    assert left > 0, "the token expired before it could be used: the machine is too slow"
    await asyncio.sleep(left)
    await _refused_everywhere(clients, WITHIN)
    unknown = await Api(session, servers[1].base_url, UNKNOWN).get("/v1/credits")
    refused = await clients[1].get("/v1/credits")
    assert (refused.status, refused.json()) == (unknown.status, unknown.json())
