"""The schema as one dialect sees it, for migrations and the schema comparison."""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData

from .tables import dialect_allows, metadata

__all__ = ["FTS_TABLE", "include_object", "metadata_for"]

#: SQLite's FTS5 index of ``images.search_text`` (a virtual table and its shadow tables,
#: made by the migration, not described by ``metadata``).
FTS_TABLE = "images_fts"


def metadata_for(dialect_name: str) -> MetaData:
    """A copy of ``metadata`` without the indexes made only for other dialects."""
    foreign = {
        (table.name, index.name)
        for table in metadata.tables.values()
        for index in table.indexes
        if not dialect_allows(index, dialect_name)
    }
    copy = MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(copy)
    for table in copy.tables.values():
        for index in list(table.indexes):
            if (table.name, index.name) in foreign:
                table.indexes.discard(index)
    return copy


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's hook: leave SQLite's FTS5 tables out of comparisons."""
    return not (type_ == "table" and name is not None and name.startswith(FTS_TABLE))
