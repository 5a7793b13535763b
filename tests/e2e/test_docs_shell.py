"""The shell examples of the docs and the README's tour are executed with the installed
``rankion``, so they cannot rot either.

- A ``sh`` block of docs/ that starts with ``set -euo pipefail`` runs in a fresh folder
  with ``PORT`` set to a free port (install lines and fragments do not run).
- A ``sh`` or ``python`` block of docs/ marked ``<!-- run against a server -->`` runs
  in a fresh folder against a ``rankion serve`` that this module starts, with
  ``RANKION_URL``, ``RANKION_TOKEN`` (a team with credits) and ``PROJECT`` (one of its
  projects) set, as the page says they are.
- The README's five-minute tour runs as a newcomer types it: ``make serve`` is a
  ``rankion serve --host 127.0.0.1`` in the clone's folder (data in ``./rankion-data``),
  ``.venv/bin/rankion`` is the installed script, and each block of the tour is typed in
  order into one shell. The one change to the text is the port: ``8080`` becomes a free
  one. Every request the tour makes must succeed (the server's access log has no 4xx
  or 5xx), and its output shows what the README says it shows.

Other Python blocks are run by ``tests/core/test_docs_examples.py``.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import TIMEOUTS, CliResult, Process, bootstrap, free_port, rankion_command, run, serve

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
MARK = "set -euo pipefail"
SERVED = "<!-- run against a server -->"
SERVED_BLOCK = re.compile(re.escape(SERVED) + r"\n```(sh|python)\n(.*?)```", re.S)
#: the README's section that is the tour, up to the next section
TOUR = re.compile(r"^## A five-minute tour\n(.*?)^## ", re.S | re.M)


def blocks() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        served = {code for _, code in SERVED_BLOCK.findall(page.read_text())}
        for n, code in enumerate(BLOCK.findall(page.read_text())):
            if code.startswith(MARK) and code not in served:
                found.append((f"{page.name}#{n}", code))
    return found


def served_blocks() -> list[tuple[str, str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for n, (language, code) in enumerate(SERVED_BLOCK.findall(page.read_text())):
            found.append((f"{page.name}#{language}{n}", language, code))
    return found


def tour_blocks() -> list[str]:
    tour = TOUR.search((ROOT / "README.md").read_text())
    assert tour is not None, "README.md has no five-minute tour"
    return BLOCK.findall(tour.group(1))


def _path() -> str:
    return os.pathsep.join([str(Path(rankion_command()[0]).parent), os.environ["PATH"]])


def _script(folder: Path, name: str, code: str) -> Path:
    script = folder / name
    script.write_text(code)
    return script


@pytest.mark.parametrize(("where", "code"), blocks(), ids=[b[0] for b in blocks()])
def test_doc_shell_block_runs(where: str, code: str, tmp_path: Path) -> None:
    script = _script(tmp_path, "example.sh", code)
    env = {"PORT": str(free_port()), "PATH": _path()}
    done = run(
        ["bash", str(script)], env=env, cwd=tmp_path, timeout=TIMEOUTS.script, merge_stderr=True
    )
    assert done.returncode == 0, f"{where} failed:\n{done.stdout}"


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A server with a team, a token and a project: the environment a page's reader has."""
    data_dir = tmp_path_factory.mktemp("rankion-docs")
    tenant = bootstrap(data_dir, team="docs", credits=10_000)
    process = serve(data_dir=data_dir)
    yield {
        "RANKION_URL": process.base_url,
        "RANKION_TOKEN": tenant.token,
        "PROJECT": str(tenant.project_id),
        "PATH": _path(),
    }
    process.stop()


@pytest.mark.parametrize(
    ("where", "language", "code"), served_blocks(), ids=[b[0] for b in served_blocks()]
)
def test_doc_block_runs_against_a_server(
    where: str, language: str, code: str, docs_server: dict[str, str], tmp_path: Path
) -> None:
    if language == "sh":
        argv = ["bash", str(_script(tmp_path, "example.sh", code))]
    else:
        argv = [sys.executable, str(_script(tmp_path, "example.py", code))]
    done = run(argv, env=docs_server, cwd=tmp_path, timeout=TIMEOUTS.script, merge_stderr=True)
    assert done.returncode == 0, f"{where} failed:\n{done.stdout}"


def test_every_block_of_the_client_page_is_run() -> None:
    """docs/client.md: each example is run above; none is a fragment that could rot."""
    page = (DOCS / "client.md").read_text()
    examples = re.findall(r"```(?:sh|python)\n", page)
    assert len(examples) == len(SERVED_BLOCK.findall(page)) >= 2


def _the_tour(folder: Path) -> tuple[Process, CliResult]:
    """``make serve`` in one terminal, the tour typed into another (see the docstring)."""
    bin_dir = folder / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    wrapper = bin_dir / "rankion"
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.join(rankion_command())} "$@"\n')
    wrapper.chmod(0o755)
    server = serve("--host", "127.0.0.1", data_dir=folder / "rankion-data", logs=folder)
    assert server.port is not None
    typed = "\n".join(tour_blocks()).replace("127.0.0.1:8080", f"127.0.0.1:{server.port}")
    assert f"127.0.0.1:{server.port}/v1" in typed, "the tour no longer talks to make serve's port"
    script = _script(folder, "tour.sh", f"{MARK}\n{typed}")
    done = run(
        ["bash", str(script)],
        env={"PATH": os.environ["PATH"]},
        cwd=folder,
        timeout=TIMEOUTS.script,
        merge_stderr=True,
    )
    return server, done


def test_the_readme_tour_runs_as_typed(tmp_path: Path) -> None:
    server, done = _the_tour(tmp_path)
    assert done.returncode == 0, f"the README tour failed:\n{done.stdout}"
    refused = [line for line in server.log().splitlines() if re.search(r" status=[45]\d\d ", line)]
    assert refused == [], "\n".join(["the tour made requests that failed:", *refused, done.stdout])
    shown = done.stdout
    assert '"AI Coding Tools — Launch Post"' in shown  # the day read back
    assert '"warnings": []' in shown  # a post a week ahead is no warning
    assert '"status":"succeeded"' in shown  # the job streams end with the job
    assert '"processing_status": "ready"' in shown
    assert "\n204\n" in shown  # the share revoked
    assert "manifest.json" in shown and ".png" in shown  # the ZIP's listing
