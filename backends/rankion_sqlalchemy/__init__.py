"""Every storage port on SQLAlchemy 2 async: SQLite (the default) and PostgreSQL.

``open_storage("sqlite:///rankion.db")`` or ``open_storage("postgresql://…")``; call
``await storage.migrate()`` once to create or upgrade the schema (Alembic).
"""

from __future__ import annotations

from .storage import SqlStorage, open_storage
from .uow import SqlUnitOfWork

__all__ = ["SqlStorage", "SqlUnitOfWork", "open_storage"]
