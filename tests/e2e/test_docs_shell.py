"""Every runnable ``sh`` block of docs/ is executed with the installed ``rankion``,
in a fresh folder, so the shell examples cannot rot either.

A block runs when it starts with ``set -euo pipefail`` (install lines and fragments
do not); ``PORT`` is set to a free port. Python blocks are run by
``tests/core/test_docs_examples.py``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .support import TIMEOUTS, free_port, rankion_command, run

DOCS = Path(__file__).resolve().parents[2] / "docs"
BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
MARK = "set -euo pipefail"


def blocks() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for n, code in enumerate(BLOCK.findall(page.read_text())):
            if code.startswith(MARK):
                found.append((f"{page.name}#{n}", code))
    return found


@pytest.mark.parametrize(("where", "code"), blocks(), ids=[b[0] for b in blocks()])
def test_doc_shell_block_runs(where: str, code: str, tmp_path: Path) -> None:
    script = tmp_path / "example.sh"
    script.write_text(code)
    bin_dir = str(Path(rankion_command()[0]).parent)
    env = {"PORT": str(free_port()), "PATH": os.pathsep.join([bin_dir, os.environ["PATH"]])}
    done = run(
        ["bash", str(script)], env=env, cwd=tmp_path, timeout=TIMEOUTS.script, merge_stderr=True
    )
    assert done.returncode == 0, f"{where} failed:\n{done.stdout}"
