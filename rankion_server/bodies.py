"""Request bodies: read once (size-limited by aiohttp), parse with orjson, structure.

Malformed JSON or bad UTF-8 is ``400``; valid JSON that is not an object is ``422``.
A POST whose body is optional treats an empty body as ``{}``. When the body class is
known, a body with more commas than any valid one can hold is refused before it is
parsed (``convert.check_separators``): a 1 MiB array of tiny values never gets built.
"""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from aiohttp import web

from rankion_core.errors import Invalid

from .convert import check_separators, structure
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
        except orjson.JSONDecodeError:
            raise MalformedJson() from None
    if not isinstance(value, dict):
        raise Invalid("the body must be a JSON object", details={"body": "not a JSON object"})
    request[BODY] = value
    return value


async def parse(request: web.Request, cls: type[T], *, optional: bool = False) -> T:
    return structure(await read_object(request, optional=optional, cls=cls), cls)
