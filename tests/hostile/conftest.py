"""Hostile tenants against a real ``rankion serve`` process (SQLite): a victim team and
an attacker team on one server, made with the CLI as an operator would. A test module
that needs other settings starts its own server with ``tests.e2e.support.serve(...,
env=...)``; what a test starts is stopped when it ends, and the log of every process
still running is printed under a failing test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from attrs import define

from tests.e2e.conftest import _processes, pytest_runtest_makereport, session
from tests.e2e.support import Api, Process, Tenant, bootstrap, serve

__all__ = ["_processes", "pytest_runtest_makereport", "session"]


@define(frozen=True)
class Arena:
    """One server shared by a victim team and an attacker team."""

    process: Process
    data_dir: Path
    victim: Tenant
    attacker: Tenant

    @property
    def base_url(self) -> str:
        return self.process.base_url


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arena]:
    data_dir = tmp_path_factory.mktemp("rankion-hostile")
    victim = bootstrap(data_dir, team="victim")
    attacker = bootstrap(data_dir, team="attacker")
    process = serve("--workers", "2", data_dir=data_dir)
    yield Arena(process, data_dir, victim, attacker)
    process.stop()


@pytest.fixture
def victim(arena: Arena, session: aiohttp.ClientSession) -> Api:
    return Api(session, arena.base_url, arena.victim.token)


@pytest.fixture
def attacker(arena: Arena, session: aiohttp.ClientSession) -> Api:
    return Api(session, arena.base_url, arena.attacker.token)
