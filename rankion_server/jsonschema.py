"""attrs classes to JSON Schema (the 2020-12 dialect of OpenAPI 3.1).

Handles str, int, bool, float, datetime, date, Any, enums, Literal, lists, dicts,
unions (``None`` as ``null``; ``Unset`` as "may be absent") and nested attrs classes,
which become ``$ref``s into ``components``. A field is required when it has no
default; every object says ``additionalProperties: false``. Field metadata
``{"schema": {...}}`` (see ``rankion_api.common.doc``) adds keywords.
"""

from __future__ import annotations

import enum
import types
import typing
from datetime import date, datetime
from typing import Any

import attrs

from rankion_api.common import Unset, json_name

from .convert import INT_MAX, INT_MIN

Schema = dict[str, Any]

#: an integer as ``convert`` reads one: signed 64 bits
INTEGER: Schema = {"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX}

_PRIMITIVES: dict[Any, Schema] = {
    str: {"type": "string"},
    int: INTEGER,
    bool: {"type": "boolean"},
    float: {"type": "number"},
    datetime: {"type": "string", "format": "date-time"},
    date: {"type": "string", "format": "date"},
}


def component_name(cls: type) -> str:
    name = cls.__name__
    return name.removesuffix("Out") if name.endswith("Out") and name != "Out" else name


class SchemaBuilder:
    """Collects component schemas while turning types into schemas."""

    def __init__(self) -> None:
        self.components: dict[str, Schema] = {}

    def ref(self, cls: type) -> Schema:
        name = component_name(cls)
        if name not in self.components:
            self.components[name] = {}  # placeholder: recursion-safe
            self.components[name] = self.object_schema(cls)
        return {"$ref": f"#/components/schemas/{name}"}

    def object_schema(self, cls: type) -> Schema:
        attrs.resolve_types(cls)
        properties: dict[str, Schema] = {}
        required: list[str] = []
        for f in attrs.fields(cls):
            name = json_name(f.name)
            properties[name] = self.field_schema(f)
            if f.default is attrs.NOTHING:
                required.append(name)
        schema: Schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        schema.update(getattr(cls, "__json_schema__", {}))  # cross-field rules
        if cls.__doc__:
            schema["description"] = " ".join(cls.__doc__.split())
        return schema

    def field_schema(self, f: attrs.Attribute[Any]) -> Schema:
        extra: Schema = dict(f.metadata.get("schema", {}))
        description = extra.pop("description", None)
        schema = self.type_schema(f.type, extra)
        if description:
            schema = {**schema, "description": description}
        default = f.default
        if default is attrs.NOTHING or isinstance(default, Unset) or default is None:
            return schema
        if isinstance(default, enum.Enum):
            schema["default"] = default.value
        elif isinstance(default, str | int | bool):
            schema["default"] = default
        return schema

    def type_schema(self, tp: Any, extra: Schema | None = None) -> Schema:
        """The schema of ``tp``; ``extra`` keywords apply to its non-null part."""
        extra = extra or {}
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            return self._union(tp, extra)
        if tp in _PRIMITIVES:
            return {**_PRIMITIVES[tp], **extra}
        if tp is Any:
            return dict(extra)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"type": "string", "enum": [m.value for m in tp], **extra}
        if origin is typing.Literal:
            return {"enum": list(typing.get_args(tp)), **extra}
        if origin in (list, tuple, set, frozenset) or origin is typing.Sequence:
            item = typing.get_args(tp)[0]  # a field's ``items`` keywords add to the item's own
            items = self.type_schema(item, extra.get("items"))
            return {"type": "array", **extra, "items": items}
        if origin is dict:
            value = typing.get_args(tp)[1]
            return {"type": "object", "additionalProperties": self.type_schema(value), **extra}
        if isinstance(tp, type) and attrs.has(tp):
            return self.ref(tp)
        raise TypeError(f"no JSON Schema for {tp!r}")

    def _union(self, tp: Any, extra: Schema) -> Schema:
        args = [a for a in typing.get_args(tp) if a is not Unset]
        nullable = type(None) in args
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            inner = self.type_schema(rest[0], extra)
        else:
            inner = {"anyOf": [self.type_schema(a) for a in rest], **extra}
        if not nullable:
            return inner
        if isinstance(inner.get("type"), str) and "enum" not in inner:
            return {**inner, "type": [inner["type"], "null"]}
        return {"anyOf": [inner, {"type": "null"}]}
