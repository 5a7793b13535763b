"""Images straight from Core rows, without the ORM's identity map (issue 10).

Loading a 50-row page through the ORM (identity map, then ``expunge`` of each) cost
more than the query itself. Read-only lists select the mapped columns with Core and
build each ``Image`` as the ORM's own loader does: a new instance of the mapped
class (``ClassManager.new_instance``, no ``__init__``) whose ``__dict__`` is filled
from the row. The result is a transient object, like the detached ones handed out
elsewhere: attribute access and ``values_of`` work on it as on any loaded image.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

import attrs
import orjson
from sqlalchemy import JSON, Boolean, Column, inspect
from sqlalchemy.engine import Row
from sqlalchemy.orm import configure_mappers

from rankion_core.models import Image

from .tables import images
from .types import StrEnumType, UTCDateTime

__all__ = [
    "IMAGE_COLUMNS",
    "entities_builder",
    "entity_builder",
    "images_of",
    "json_loads",
    "read_only",
]

T = TypeVar("T")

#: every mapped column of ``images`` but the private search text
IMAGE_COLUMNS: tuple[Column[Any], ...] = tuple(c for c in images.c if c.name != "search_text")
_KEYS = tuple(c.name for c in IMAGE_COLUMNS)


def images_of(rows: Iterable[Row[Any]]) -> list[Image]:
    configure_mappers()  # a no-op once done; sets up the attributes read below
    new = inspect(Image).class_manager.new_instance
    found = []
    for row in rows:
        image = new()
        image.__dict__.update(zip(_KEYS, row, strict=True))
        found.append(image)
    return found


# --------------------------------------------------------------------------- raw rows
#
# The read paths of ``sqlite_reads`` and ``pg_reads`` take rows straight from the
# driver; these turn them into read-only entities (issue 10).


class _Unset:
    """Shadows an instrumented attribute on a read-only class: instance values win
    (this is a non-data descriptor); a value never set is an error, not None."""

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type[Any] | None = None) -> Any:
        raise AttributeError(self.name)


_READ_ONLY: dict[type[Any], type[Any]] = {}


def read_only(cls: type[T]) -> type[T]:
    """A subclass of the mapped entity class ``cls`` whose instances keep their values
    as plain attributes (one per class).

    The ORM instruments every mapped attribute of ``cls`` with a descriptor that runs
    Python code on each read (~1,800 reads per 50-row page between the service and
    the renderer). The subclass shadows them, so reads are plain ``__dict__`` lookups.
    Its instances are for display only: they are unknown to the ORM, and handing one
    to a repository's ``update`` fails loudly ("not mapped").
    """
    if cls in _READ_ONLY:
        return _READ_ONLY[cls]
    shadows: dict[str, Any] = {f.name: _Unset() for f in attrs.fields(cast(Any, cls))}
    shadows["__doc__"] = f"A read-only {cls.__name__} (``rows.read_only``)."
    made = type(f"ReadOnly{cls.__name__}", (cls,), shadows)
    for name, shadow in shadows.items():
        if isinstance(shadow, _Unset):
            shadow.__set_name__(made, name)
    _READ_ONLY[cls] = made
    return made


def json_loads(text: str) -> Any:
    """``json.loads``, 5 times faster: orjson, falling back to the standard library for
    what only it reads (a lone surrogate escape such as ``"\\ud800"``, which a row
    written by other means may hold)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _expression(column: Column[Any], value: str, namespace: dict[str, Any], dialect: str) -> str:
    """Python source turning the driver's ``value`` of ``column`` into the entity's.

    asyncpg already decodes times (aware, UTC) and booleans; sqlite3 gives both as
    stored: ``UTCDateTime`` text (naive UTC) and 0/1.
    """
    kind = column.type
    if isinstance(kind, UTCDateTime) and dialect == "sqlite":
        # ``fromisoformat`` of ``…+00:00`` is 6 times faster than
        # ``fromisoformat(…).replace(tzinfo=UTC)``, and as exact
        namespace["iso"] = datetime.fromisoformat
        converted = f"iso({value} + '+00:00')"
    elif isinstance(kind, Boolean) and dialect == "sqlite":
        converted = f"({value} != 0)"
    elif isinstance(kind, StrEnumType):
        namespace[f"members_{column.name}"] = {m.value: m for m in kind.enum}
        converted = f"members_{column.name}[{value}]"
    elif isinstance(kind, JSON):
        namespace["loads"] = json_loads
        converted = f"([] if {value} == '[]' else loads({value}))"
    else:
        return value
    return f"(None if {value} is None else {converted})" if column.nullable else converted


def entity_builder(
    cls: type[Any], columns: Sequence[Column[Any]], dialect: str, start: int = 0
) -> Callable[[Sequence[Any]], Any]:
    """A function of a driver's row (``columns`` from position ``start`` on) → a
    read-only entity of ``cls``, generated once: the values in one dict display with
    the conversions inlined by position — what the ORM would load, at a fraction of
    the cost."""
    return cast("Callable[[Sequence[Any]], Any]", _generate(cls, columns, dialect, start, False))


def entities_builder(
    cls: type[Any], columns: Sequence[Column[Any]], dialect: str
) -> Callable[[Iterable[Sequence[Any]]], list[Any]]:
    """``entity_builder`` over many rows, the loop generated too (a call less per row)."""
    return cast(
        "Callable[[Iterable[Sequence[Any]]], list[Any]]", _generate(cls, columns, dialect, 0, True)
    )


def _generate(
    cls: type[Any], columns: Sequence[Column[Any]], dialect: str, start: int, many: bool
) -> Any:
    namespace: dict[str, Any] = {"cls": read_only(cls), "new": object.__new__}
    items = ", ".join(
        f"{c.name!r}: {_expression(c, f'r[{start + i}]', namespace, dialect)}"
        for i, c in enumerate(columns)
    )
    one = f"entity = new(cls)\n{{indent}}entity.__dict__.update({{{{{items}}}}})\n"
    if many:
        body = "found = []\n    for r in rows:\n        " + one.format(indent="        ")
        source = f"def build(rows):\n    {body}        found.append(entity)\n    return found\n"
    else:
        source = f"def build(r):\n    {one.format(indent='    ')}    return entity\n"
    exec(source, namespace)  # the source is made of column names and positions only
    return namespace["build"]
