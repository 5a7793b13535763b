"""The C allocator's settings for a process that moves blobs.

Blobs pass through the process in chunks of about 1 MiB: an export reads each image,
checksums it into the ZIP and writes it out, with a chunk or two in flight at each
step. glibc serves an allocation that large with a mapping of its own and unmaps it
when it is freed, or trims its heap as soon as 128 KiB lie free at the top; either
way, the next chunk's 256 pages are faulted in and zeroed again. In an export of
500 images of 1 MB, reading the images then took longer than checksumming and writing them
together (0.4-0.5 s against 0.1 s for the same reads alone; ``benchmarks/README.md``).

``keep_chunk_memory`` makes allocations under ``MMAP_THRESHOLD`` come from the heap
and lets up to ``TRIM_THRESHOLD`` lie free in a heap before it is given back, so the
pages of one chunk serve the next. A heap keeps free only what it held at its busiest,
and never more than that threshold (glibc keeps a heap per thread busy at once: the
event loop's and the few that read and write blobs); memory stays flat however large
the export. An operator who sets glibc's own variables (``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_``, or a ``glibc.malloc.`` tunable in ``GLIBC_TUNABLES``) keeps
their choice; on other C libraries nothing changes.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Mapping

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_chunk_memory"]

#: allocations smaller than this come from the heap, not from a mapping of their own
MMAP_THRESHOLD = 4 << 20
#: free memory a heap keeps before it is given back to the system
TRIM_THRESHOLD = 16 << 20

# mallopt's parameter numbers (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

_OPERATOR_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
#: a ``GLIBC_TUNABLES`` setting of malloc's (others, such as ``glibc.cpu.…``, do not count)
_MALLOC_TUNABLE = "glibc.malloc."


def keep_chunk_memory(environ: Mapping[str, str]) -> bool:
    """Tune glibc's allocator for chunk-sized buffers; whether it was done (False on
    another C library, or when the environment already says how)."""
    operators = any(n in environ for n in _OPERATOR_SETTINGS)
    if operators or _MALLOC_TUNABLE in environ.get("GLIBC_TUNABLES", ""):
        return False
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # glibc answers 1 when it took the value; musl's mallopt answers 0 and does nothing
    return bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
