"""One real ``rankion serve`` for the session, bootstrapped through the CLI. Every
process a test starts is stopped when it ends; the log of every process still running
is printed under a failing test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator

import aiohttp
import pytest

from .support import (
    RUNNING,
    Api,
    Server,
    bootstrap,
    http_session,
    logs_of_running,
    serve,
    stop_started_since,
)

REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report


@pytest.fixture(autouse=True)
def _processes(request: pytest.FixtureRequest) -> Iterator[None]:
    """Prints the logs under a failing test; stops what the test started."""
    before = list(RUNNING)
    yield
    reports = request.node.stash.get(REPORTS, {})
    if any(r.failed for r in reports.values()):
        print(logs_of_running())
    stop_started_since(before)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("rankion-e2e")
    tenant = bootstrap(data_dir)
    process = serve("--workers", "2", data_dir=data_dir)
    yield Server(process, data_dir, tenant)
    process.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with http_session() as client:
        yield client


@pytest.fixture
def api(server: Server, session: aiohttp.ClientSession) -> Api:
    """The server, with the tenant's bearer token."""
    return Api(session, server.base_url, server.tenant.token)


@pytest.fixture
def anonymous(server: Server, session: aiohttp.ClientSession) -> Api:
    """The server, without any token: what a browser or a link preview sees."""
    return Api(session, server.base_url)
