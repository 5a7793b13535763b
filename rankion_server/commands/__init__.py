"""What each ``rankion`` subcommand does; ``rankion_server.cli`` adds them to ``rankion``."""

from __future__ import annotations

from .admin import (
    create_project,
    create_team,
    create_token,
    grant_credits,
    list_tokens,
    migrate,
    purge,
    revoke_token,
)
from .base import AdminAction, CommandError, Output, UsageError
from .run import run_admin, run_serve, run_worker

__all__ = [
    "AdminAction",
    "CommandError",
    "Output",
    "UsageError",
    "create_project",
    "create_team",
    "create_token",
    "grant_credits",
    "list_tokens",
    "migrate",
    "purge",
    "revoke_token",
    "run_admin",
    "run_serve",
    "run_worker",
]
