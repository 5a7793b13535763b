"""Rankion's pure core: models, rules, ports, services and errors.

It imports no I/O library; backends implement its ports and the server wires them.
"""

from __future__ import annotations

from .errors import (
    Conflict,
    InsufficientCredits,
    Invalid,
    LimitExceeded,
    NotFound,
    ProviderRejected,
    ProviderUnavailable,
    RankionError,
    RateLimited,
    Unavailable,
)
from .models import Actor
from .services import Deps, Hooks, Rankion
from .signing import HmacUrlSigner

__all__ = [
    "Actor",
    "Conflict",
    "Deps",
    "HmacUrlSigner",
    "Hooks",
    "InsufficientCredits",
    "Invalid",
    "LimitExceeded",
    "NotFound",
    "ProviderRejected",
    "ProviderUnavailable",
    "Rankion",
    "RankionError",
    "RateLimited",
    "Unavailable",
]
