"""Schemathesis against a real ``rankion serve``, from its own ``/v1/openapi.json``.

Every check is on (server errors, status code / content type / header / schema
conformance, negative data rejection, positive data acceptance, ignored auth,
use-after-free, resource availability, …) and every phase runs, the stateful one
following the document's links and ``Location`` headers. The run is bounded (a few
examples per operation, deterministic generation) so it fits ``make test``; the long
run is a documented command in ``docs/security.md``. What schemathesis is told beyond
the defaults is in ``tests/api/fuzz/`` (config and hooks), each item with its reason.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import TIMEOUTS, Server, bootstrap, run, serve

FUZZ = Path(__file__).resolve().parents[1] / "api" / "fuzz"
#: examples per operation and phase; the whole run is a few hundred requests or more
EXAMPLES = int(os.environ.get("RANKION_FUZZ_EXAMPLES", "4"))


def schemathesis_command(server: Server, *extra: str) -> list[str]:
    """The bounded run; ``extra`` options go last (and win)."""
    binary = Path(sys.executable).parent / "schemathesis"
    return [
        str(binary),
        "--config-file",
        str(FUZZ / "schemathesis.toml"),
        "--no-color",
        "run",
        f"{server.base_url}/v1/openapi.json",
        "--header",
        f"Authorization: Bearer {server.tenant.token}",
        "--checks",
        "all",
        # DELETE /v1/images/{id} moves the image to the trash, and the contract keeps
        # its detail answering (with deleted_at) until it is purged: a correct 200 that
        # the use-after-free check takes for a failure, and no setting narrows that
        # check to one operation in the stateful phase. Hard deletes answer 404 after
        # (tests/api: webhooks, events, tokens, shares).
        "--exclude-checks",
        "use_after_free",
        "--generation-deterministic",
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "1",
        "--request-timeout",
        "20",
        *extra,
    ]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own, limits off: a 429 would hide what the fuzzer is after."""
    data_dir = tmp_path_factory.mktemp("rankion-fuzz")
    tenant = bootstrap(data_dir, team="fuzz", credits=10_000_000)
    process = serve(
        *("--workers", "1", "--max-active-jobs", "0", "--charge-rate", "0"),
        data_dir=data_dir,
        env={
            "RANKION_MAX_ACTIVE_EXPORTS": "0",
            "RANKION_MAX_STREAMS_PER_TEAM": "0",
            "RANKION_WRITE_RATE": "0",
        },
    )
    yield Server(process, data_dir, tenant)
    process.stop()


def test_schemathesis_finds_nothing(fuzz_server: Server) -> None:
    done = run(
        schemathesis_command(fuzz_server),
        env={"SCHEMATHESIS_HOOKS": str(FUZZ / "hooks.py")},
        cwd=fuzz_server.data_dir,
        timeout=TIMEOUTS.fuzz,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    generated = re.search(r"(\d+) generated", report)
    assert generated is not None and int(generated.group(1)) >= 200, report
    assert "No issues found" in report or " passed" in report, report
