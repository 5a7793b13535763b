"""The repositories of one unit of work, one module per part of the domain."""

from __future__ import annotations

from .accounts import ProjectRepo, TeamRepo, TokenRepo, UserRepo
from .events import EventRepo
from .images import ImageRepo
from .jobs import JobRepo
from .records import ExportRepo, IdempotencyRepo, LedgerRepo
from .sessions import ChatRepo, EditSessionRepo, ShareRepo

__all__ = [
    "ChatRepo",
    "EditSessionRepo",
    "EventRepo",
    "ExportRepo",
    "IdempotencyRepo",
    "ImageRepo",
    "JobRepo",
    "LedgerRepo",
    "ProjectRepo",
    "ShareRepo",
    "TeamRepo",
    "TokenRepo",
    "UserRepo",
]
