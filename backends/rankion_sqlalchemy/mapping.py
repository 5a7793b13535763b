"""Imperative mapping: the core's attrs classes onto the tables, nothing added to them.

The ORM skips ``__init__`` when it loads a row, which is fine here: every column is
mapped, so no attrs default or factory is needed on a loaded object.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import deferred, registry

from rankion_core import models

from . import tables

__all__ = ["mapper_registry", "start_mappers", "values_of"]

mapper_registry = registry(metadata=tables.metadata)

_MAPPINGS: tuple[tuple[type[Any], Any], ...] = (
    (models.Team, tables.teams),
    (models.User, tables.users),
    (models.ApiToken, tables.api_tokens),
    (models.Project, tables.projects),
    (models.CalendarEvent, tables.calendar_events),
    (models.EditSession, tables.edit_sessions),
    (models.Share, tables.shares),
    (models.ChatSession, tables.chat_sessions),
    (models.Export, tables.exports),
    (models.LedgerEntry, tables.ledger_entries),
    (models.IdempotencyRecord, tables.idempotency_records),
)


def _mapped(cls: type[Any]) -> bool:
    return inspect(cls, raiseerr=False) is not None


def start_mappers() -> None:
    """Map every entity once; calling it again is a no-op."""
    for cls, table in _MAPPINGS:
        if not _mapped(cls):
            mapper_registry.map_imperatively(cls, table)
    if not _mapped(models.Job):
        mapper_registry.map_imperatively(
            models.Job,
            tables.jobs,
            # Not a domain field: the job's lane (a function of its kind), kept by storage.
            properties={"_lane": tables.jobs.c.lane},
        )
    if not _mapped(models.Image):
        mapper_registry.map_imperatively(
            models.Image,
            tables.images,
            # Not a domain field: kept by the repository, never loaded.
            properties={"_search_text": deferred(tables.images.c.search_text, raiseload=True)},
        )


def values_of(entity: Any) -> dict[str, Any]:
    """The entity's mapped column values, by column name (private ones left out)."""
    mapper = inspect(type(entity))
    return {
        prop.columns[0].name: getattr(entity, prop.key)
        for prop in mapper.column_attrs
        if not prop.key.startswith("_")
    }
