"""JSON in and out for the client: bodies from the request classes, answers into the
response classes. Lenient on answers (an unknown key from a newer server is ignored)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, TypeVar

import attrs
from cattrs import Converter

from rankion_api.common import Unset, json_name
from rankion_core.rules.timeutil import iso_z

T = TypeVar("T")

_converter = Converter()
_converter.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
_converter.register_unstructure_hook(datetime, iso_z)


def structure(data: Any, cls: type[T]) -> T:
    return _converter.structure(data, cls)


def unstructure(obj: Any) -> Any:
    """An answer object as plain JSON data (times in ISO 8601 UTC, enums as values)."""
    return _converter.unstructure(obj)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def body(obj: Any) -> dict[str, Any]:
    """A request object as JSON: fields left at an ``UNSET`` or ``None`` default are not
    sent (the server keeps or defaults them); an explicit ``None`` over ``UNSET`` is null."""
    out: dict[str, Any] = {}
    for f in attrs.fields(type(obj)):
        value = getattr(obj, f.name)
        if isinstance(value, Unset) or (value is None and f.default is None):
            continue
        out[json_name(f.name)] = _plain(value)
    return out
