"""Request bodies: read once (size-limited by aiohttp), parse with orjson, structure.

Malformed JSON or bad UTF-8 is ``400``; valid JSON that is not an object is ``422``.
A number past what a double holds (``1e400``, 4,301 digits) is valid JSON that orjson
refuses: only then is the body parsed again, by the standard library, and answered
``422`` naming the field, like any number out of its range.
A POST whose body is optional treats an empty body as ``{}``. When the body class is
known, a body with more commas than any valid one can hold is refused before it is
parsed (``convert.check_separators``): a 1 MiB array of tiny values never gets built.
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn, TypeVar

import orjson
from aiohttp import web

from rankion_core.errors import Invalid

from .convert import HUGE_NUMBER, INT_MIN, OUT_OF_RANGE, check_separators, structure
from .errors import MalformedJson
from .keys import BODY

T = TypeVar("T")


async def read_object(
    request: web.Request, *, optional: bool = False, cls: type | None = None
) -> dict[str, Any]:
    """The body as a JSON object (cached on the request: read and parsed once)."""
    if BODY in request:
        return request[BODY]
    raw = await request.read()  # raises 413 beyond client_max_size
    if cls is not None:
        check_separators(raw, cls)
    if not raw.strip():
        if not optional:
            raise Invalid("a JSON object body is required", details={"body": "missing"})
        value: Any = {}
    else:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            if "number" not in exc.msg:
                raise MalformedJson() from None
            _refuse_huge_numbers(raw, cls)
    if not isinstance(value, dict):
        raise _not_an_object()
    request[BODY] = value
    return value


def _not_an_object() -> Invalid:
    return Invalid("the body must be a JSON object", details={"body": "not a JSON object"})


def _refuse_huge_numbers(raw: bytes, cls: type | None) -> NoReturn:
    """``422`` for valid JSON that holds a number past a double (each read as
    ``HUGE_NUMBER``, which no field takes), naming the fields when ``cls`` is known;
    ``400`` when the body is not valid JSON after all."""
    found: list[str] = []

    def number(token: str) -> Any:
        value = float(token)  # never raises on a valid JSON number; past a double: inf
        if math.isinf(value):
            found.append(token)
            return HUGE_NUMBER
        return value

    def integer(token: str) -> Any:  # as orjson reads it: a 64-bit integer, else a double
        if len(token) <= 20 and INT_MIN <= (value := int(token)) < 2**64:
            return value
        return number(token)

    def constant(token: str) -> NoReturn:  # NaN and Infinity are not JSON
        raise ValueError(token)

    try:
        text = raw.decode("utf-8")
        value = json.loads(text, parse_float=number, parse_int=integer, parse_constant=constant)
    except (ValueError, RecursionError):  # JSONDecodeError, UnicodeDecodeError are ValueErrors
        raise MalformedJson() from None
    if not found:  # orjson refused something else
        raise MalformedJson()
    if not isinstance(value, dict):
        raise _not_an_object()
    if cls is not None:
        structure(value, cls)  # raises, naming each field (a huge number fits none)
    raise Invalid(
        f"a number {OUT_OF_RANGE}", details={"body": f"holds a number that {OUT_OF_RANGE}"}
    )


async def parse(request: web.Request, cls: type[T], *, optional: bool = False) -> T:
    return structure(await read_object(request, optional=optional, cls=cls), cls)
