"""The allocator set up for blob chunks: seen from glibc's own counters, in a fresh
process each (the setting is process-wide)."""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(ctypes.CDLL(None), "mallinfo2"),
    reason="glibc's mallinfo2 is needed to see where a chunk was allocated",
)

# In the child: tune (or not), then allocate a chunk-sized buffer and say whether glibc
# served it with a mapping of its own (``hblkhd``: bytes in such mappings).
PROBE = """
import ctypes, json, os, sys
from rankion_server.allocator import keep_chunk_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
tuned = keep_chunk_memory(os.environ) if sys.argv[1] == "tune" else False
before = libc.mallinfo2().hblkhd
chunk = bytearray(1 << 20)
mapped = libc.mallinfo2().hblkhd - before >= 1 << 20
print(json.dumps({"tuned": tuned, "mapped": mapped}))
"""


def probe(mode: str, **env: str) -> dict[str, bool]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_"))}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        env={**environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout))


def test_a_chunk_comes_from_the_heap_once_tuned() -> None:
    assert probe("leave") == {"tuned": False, "mapped": True}  # glibc's default
    assert probe("tune") == {"tuned": True, "mapped": False}


def test_the_operators_own_allocator_settings_win() -> None:
    assert probe("tune", MALLOC_MMAP_THRESHOLD_="131072") == {"tuned": False, "mapped": True}
    tuned = probe("tune", GLIBC_TUNABLES="glibc.malloc.trim_threshold=0")
    assert tuned == {"tuned": False, "mapped": True}


def test_a_tunable_of_something_else_leaves_it_tuned() -> None:
    other = probe("tune", GLIBC_TUNABLES="glibc.cpu.hwcaps=-AVX2")
    assert other == {"tuned": True, "mapped": False}
