"""The core must import no I/O library: backends depend on it, never the reverse."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("aiohttp", "sqlalchemy", "fsspec", "s3fs", "openai", "PIL", "asyncpg", "aiosqlite")


def test_importing_the_core_pulls_in_no_io_library() -> None:
    code = (
        "import sys, rankion_core, rankion_core.services, rankion_core.ports, rankion_core.rules;"
        "import rankion_core.rules.calendar, rankion_core.rules.tree;"
        "import rankion_core.services.exports, rankion_core.services.files;"
        "import rankion_core.workers;"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"rankion_core imported: {out.stdout.strip()}"


def test_the_contract_suites_pull_in_pytest_only_when_imported() -> None:
    """``rankion_core.testing`` ships with the core: it needs pytest, no I/O library,
    and the rest of the core never imports it."""
    code = (
        "import sys, rankion_core, rankion_core.services, rankion_core.ports;"
        "before = 'pytest' in sys.modules;"
        "import rankion_core.testing;"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}];"
        "print(before, ','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", f"rankion_core.testing: {out.stdout.strip()}"
