"""Deprecated: the worker pool is ``rankion_core.workers`` (plain asyncio, importable
without aiohttp or the server). The old names still resolve here, with a warning."""

from __future__ import annotations

import warnings
from typing import Any

from rankion_core import workers as _workers


def __getattr__(name: str) -> Any:
    if name in _workers.__all__:
        warnings.warn(
            f"rankion_server.workers.{name} moved to rankion_core.workers.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(_workers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
