"""Every runnable ``python`` block of docs/ is executed, so the docs cannot rot; a block
marked ``<!-- example: examples/… -->`` is that file, which its own test runs as an app."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
#: a block that needs a running server: ``tests/e2e/test_docs_shell.py`` runs it
SERVED = re.compile(r"<!-- run against a server -->\n```python\n(.*?)```", re.S)
EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```python\n(.*?)```", re.S)


def blocks() -> list[tuple[str, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        served = set(SERVED.findall(page.read_text()))
        for n, code in enumerate(BLOCK.findall(page.read_text())):
            if ("asyncio.run(" in code or "if __name__" in code) and code not in served:
                found.append((f"{page.name}#{n}", code))
    return found


@pytest.mark.parametrize(("where", "code"), blocks(), ids=[b[0] for b in blocks()])
def test_doc_example_runs(where: str, code: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode == 0, f"{where} failed:\n{done.stderr}"


def examples() -> list[tuple[str, str]]:
    return [
        m.groups() for page in sorted(DOCS.glob("*.md")) for m in EXAMPLE.finditer(page.read_text())
    ]


def test_every_block_of_the_embedding_page_is_run() -> None:
    """docs/embedding.md: each block is a script run above or an example app run by its
    own test; none is a fragment that could rot."""
    page = (DOCS / "embedding.md").read_text()
    runnable = {code for _, code in blocks()} | {code for _, code in examples()}
    fragments = [code[:60] for code in BLOCK.findall(page) if code not in runnable]
    assert fragments == []


def test_docs_show_the_example_apps_as_they_are() -> None:
    shown = examples()
    assert {path for path, _ in shown} >= {"examples/fastapi_app.py", "examples/django_app.py"}
    for path, code in shown:
        assert code == (ROOT / path).read_text(), f"{path} differs from the docs' copy"
