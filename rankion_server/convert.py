"""The one cattrs converter of the server: strict request bodies, JSON answers.

Structuring is strict on purpose: no ``"5"`` for an int, no ``true`` for an int, no
string for a list, no naive datetime; unknown keys are rejected (no mass assignment).
Failures become one ``Invalid`` whose ``details`` map each field path to a message.

The work is bounded before it starts: unknown keys and arrays longer than their
field's ``maxItems`` are refused before any item is looked at, so a 1 MiB body of
hostile items costs one length check, not a structuring pass; ``details`` names at
most ``DETAILS_MAX`` fields.
"""

from __future__ import annotations

import enum
import functools
import itertools
import re
import types
import typing
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar, final

import attrs
import orjson
from cattrs import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError
from cattrs import transform_error as cattrs_transform_error
from cattrs.cols import is_sequence, list_structure_factory
from cattrs.gen import make_dict_structure_fn, override
from cattrs.preconf.orjson import OrjsonConverter, make_converter

from rankion_api.common import TOO_MANY, Unset, json_name
from rankion_core.errors import Invalid, LimitExceeded
from rankion_core.rules import text
from rankion_core.rules.limits import DETAILS_MAX
from rankion_core.rules.timeutil import iso_z

__all__ = [
    "HUGE_NUMBER",
    "MORE",
    "OUT_OF_RANGE",
    "FieldError",
    "HugeNumber",
    "capped",
    "converter",
    "dumps",
    "structure",
    "unstructure",
]

T = TypeVar("T")

INT_MIN, INT_MAX = -(2**63), 2**63 - 1
OUT_OF_RANGE = "is out of range"
UNKNOWN = "unknown field"
#: the ``details`` entry that counts what was left out past ``DETAILS_MAX``
MORE = "…"


class FieldError(ValueError):
    """A field-level failure whose message is shown as is."""


@final
class HugeNumber:
    """A JSON number past what a double holds (``1e400``, an integer of 4,301 digits):
    valid JSON, but a value no field takes (``bodies`` puts it where orjson refused)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "HUGE_NUMBER"


HUGE_NUMBER = HugeNumber()


def _str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise FieldError("must be a string")
    if text.NUL in value:
        raise FieldError(text.NUL_REFUSED)
    return value


def _int(value: Any, _: type) -> int:
    if value is HUGE_NUMBER:
        raise FieldError(OUT_OF_RANGE)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON Schema (and JSON) count 5.0 as an integer
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError("must be an integer")
    if not INT_MIN <= value <= INT_MAX:
        raise FieldError(OUT_OF_RANGE)
    return value


def _float(value: Any, _: type) -> float:
    if value is HUGE_NUMBER:
        raise FieldError(OUT_OF_RANGE)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError("must be a number")
    return float(value)


def _bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise FieldError("must be true or false")
    return value


def parse_datetime(value: Any) -> datetime:
    """An ISO 8601 time with an offset, in UTC; naive or malformed is a ``FieldError``.
    A lower-case ``t`` or ``z`` is read as RFC 3339 allows."""
    if not isinstance(value, str):
        raise FieldError("must be an ISO 8601 date-time string")
    if text.NUL in value:  # fromisoformat reads up to a NUL and ignores the rest
        raise FieldError(text.NUL_REFUSED)
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        raise FieldError("must be an ISO 8601 date-time with an offset") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise FieldError("a time without an offset is ambiguous; add Z or +hh:mm")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+05:00 is before year 1 in UTC
        raise FieldError(OUT_OF_RANGE) from None


def _enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    allowed = [str(m.value) for m in cls]
    if isinstance(value, str) and value in allowed:
        return cls(value)
    raise FieldError(f"must be one of {', '.join(allowed)}")


def _has_unset(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and Unset in tp.__args__


def _without_unset(tp: Any, conv: OrjsonConverter) -> Callable[[Any, type], Any]:
    """An absent field keeps its default and never reaches the hook; a present one is
    structured as the rest of the union (``null`` included where it is allowed)."""
    rest = tuple(a for a in tp.__args__ if a is not Unset)
    inner: Any = rest[0] if len(rest) == 1 else typing.Union[rest]  # noqa: UP007
    hook = conv.get_structure_hook(inner)
    return lambda value, _: hook(value, inner)


def _strict_list(tp: Any, conv: OrjsonConverter) -> Callable[[Any, type], list[Any]]:
    base = list_structure_factory(tp, conv)

    def hook(value: Any, _: type) -> list[Any]:
        if not isinstance(value, list):
            raise FieldError("must be an array")
        return base(value, tp)  # type: ignore[no-any-return]

    return hook


def _optional(tp: Any, conv: OrjsonConverter) -> Callable[[Any, type], Any]:
    """``X | None``: null is null, anything else goes through ``X``'s strict hook."""
    rest = tuple(a for a in tp.__args__ if a is not type(None))
    inner: Any = rest[0] if len(rest) == 1 else typing.Union[rest]  # noqa: UP007
    hook = conv.get_structure_hook(inner)
    return lambda value, _: None if value is None else hook(value, inner)


def _is_optional(tp: Any) -> bool:
    return (
        typing.get_origin(tp) in (typing.Union, types.UnionType)
        and type(None) in tp.__args__
        and Unset not in tp.__args__
    )


#: ``from_`` in an error path: the body calls it ``from``
_KEYWORD_FIELD = re.compile(r"(\w)_(?=[.\[]|$)")


def _keyword_fields(cls: Any) -> bool:
    return attrs.has(cls) and any(f.name.endswith("_") for f in attrs.fields(cls))


def _renamed(cls: Any, conv: OrjsonConverter) -> Callable[[Any, type], Any]:
    names: dict[str, Any] = {f.name: override(rename=json_name(f.name)) for f in attrs.fields(cls)}
    return make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=True, **names)


def _make() -> OrjsonConverter:
    conv = make_converter(forbid_extra_keys=True)
    # singledispatch on the MRO: a bool is an int and a StrEnum a str, so both are
    # registered explicitly to reach their own hooks
    for tp, hook in ((str, _str), (int, _int), (float, _float), (bool, _bool)):
        conv.register_structure_hook(tp, hook)
    for base in (enum.Enum, enum.StrEnum):
        conv.register_structure_hook(base, _enum)
    conv.register_structure_hook(datetime, lambda v, _: parse_datetime(v))
    conv.register_unstructure_hook(datetime, iso_z)
    conv.register_structure_hook_factory(is_sequence, lambda tp: _strict_list(tp, conv))
    conv.register_structure_hook_factory(_is_optional, lambda tp: _optional(tp, conv))
    conv.register_structure_hook_factory(_has_unset, lambda tp: _without_unset(tp, conv))
    conv.register_structure_hook_factory(_keyword_fields, lambda tp: _renamed(tp, conv))
    return conv


converter = _make()


def _message(exc: BaseException, _type: type | None) -> str:
    if isinstance(exc, FieldError):
        return str(exc)
    if isinstance(exc, ForbiddenExtraKeysError):
        return UNKNOWN + "s: " + ",".join(sorted(exc.extra_fields))
    if isinstance(exc, KeyError):
        return "required field missing"
    return "invalid value"


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def capped(entries: Iterable[tuple[str, Any]], total: int) -> dict[str, Any]:
    """At most ``DETAILS_MAX`` of ``entries`` (``total`` in all) and, when some were
    left out, ``{"…": "and N more"}``."""
    details: dict[str, Any] = {}
    for name, message in entries:
        if len(details) == DETAILS_MAX:
            break
        details[name] = message
    if total > len(details):
        details[MORE] = f"and {total - len(details)} more"
    return details


#: commas allowed past what a body class's bounded fields can hold (white space, a long
#: model name, a spelled-out number…)
SEPARATORS_SLACK = 256


def _field_separators(f: attrs.Attribute[Any]) -> int:
    """How many commas a valid value of ``f`` can hold (strings without a length limit
    count none: models, sizes, base64 and times have no commas)."""
    schema = f.metadata.get("schema", {})
    if "maxItems" in schema:
        item_length = schema.get("items", {}).get("maxLength", 0)
        return int(schema["maxItems"]) * (int(item_length) + 1)
    return int(schema.get("maxLength", 1))


@functools.cache
def separators_max(cls: type) -> int:
    """The most commas a valid JSON body for ``cls`` can hold, with slack."""
    if not attrs.has(cls):
        return SEPARATORS_SLACK
    fields = attrs.fields(cls)
    return len(fields) + sum(_field_separators(f) for f in fields) + SEPARATORS_SLACK


def check_separators(raw: bytes, cls: type) -> None:
    """Before parsing: a body with more commas than any valid ``cls`` can hold is refused
    without building its values (one C-speed count, where parsing 300k tiny values costs
    tens of milliseconds)."""
    high = separators_max(cls)
    if raw.count(b",") <= high:
        return
    codes = [f.metadata[TOO_MANY] for f in attrs.fields(cls) if TOO_MANY in f.metadata]
    message = f"the body holds more values than this request can (at most {high} commas)"
    details = {"body": f"more than {high} values"}
    if codes:
        raise LimitExceeded(message, code=codes[0], details=details)
    raise Invalid(message, details=details)


@functools.cache
def _json_fields(cls: type) -> dict[str, attrs.Attribute[Any]]:
    """``cls``'s fields by the names a body uses (``from``, not ``from_``)."""
    return {json_name(f.name): f for f in attrs.fields(cls)}


def _bounds(raw: dict[str, Any], cls: type) -> None:
    """Refuse unknown keys and over-long arrays before any item is structured."""
    if not attrs.has(cls):
        return
    fields = _json_fields(cls)
    unknown = len(raw) - sum(name in raw for name in fields)  # O(fields), not O(keys)
    if unknown:
        first = list(itertools.islice((k for k in raw if k not in fields), DETAILS_MAX))
        shown = ", ".join(sorted(first)) + (", …" if unknown > len(first) else "")
        details = capped(((n, UNKNOWN) for n in first), unknown)
        raise Invalid(f"unknown fields: {shown}", details=details)
    for name, value in raw.items():
        if not isinstance(value, list):
            continue
        high = fields[name].metadata.get("schema", {}).get("maxItems")
        if high is not None and len(value) > high:
            code = fields[name].metadata.get(TOO_MANY)
            message = f"{len(value)} items, the limit is {high}"
            if code is not None:
                raise LimitExceeded(
                    f"at most {high} {name} per call; send larger sets in chunks",
                    code=code,
                    details={name: message, "limit": high},
                )
            raise Invalid(f"at most {high} {name}", details={name: message})


def field_details(exc: BaseException) -> dict[str, str]:
    """``{"title": "must be a string", "tags[2]": "...", "bogus": "unknown field"}``."""
    details: dict[str, str] = {}
    for line in cattrs_transform_error(exc, path="$", format_exception=_message):
        message, _, where = line.rpartition(" @ ")
        path = _KEYWORD_FIELD.sub(r"\1", where.removeprefix("$").removeprefix("."))
        if message.startswith(UNKNOWN + "s: "):
            for name in message.removeprefix(UNKNOWN + "s: ").split(","):
                details[_join(path, name)] = UNKNOWN
        else:
            details[path or "body"] = message
    return details


def structure(raw: dict[str, Any], cls: type[T]) -> T:
    """``raw`` as a ``cls``, or ``Invalid`` naming the bad or unknown fields."""
    _bounds(raw, cls)
    try:
        return converter.structure(raw, cls)
    except (ClassValidationError, IterableValidationError, ForbiddenExtraKeysError) as exc:
        details = field_details(exc)
        unknown = sorted(k for k, v in details.items() if v == UNKNOWN)
        message = f"unknown fields: {', '.join(unknown)}" if unknown else first_problem(details)
        raise Invalid(message, details=capped(details.items(), len(details))) from None


def first_problem(details: dict[str, str]) -> str:
    """The top-level message of a 422: the first failing field and what is wrong with
    it (``title: must be a string``), and how many more fields failed."""
    name, message = next(iter(details.items()), ("body", "invalid"))
    more = len(details) - 1
    return f"{name}: {message}" + (f" (and {more} more)" if more else "")


def unstructure(obj: Any) -> Any:
    return converter.unstructure(obj)


def dumps(obj: Any) -> bytes:
    """JSON bytes of plain data (already unstructured)."""
    return orjson.dumps(obj)
