"""Success answers: ``{"data": ...}``, lists with ``meta``, ``201``/``202`` with Location."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import orjson
from aiohttp import web

from rankion_api.common import WarningOut
from rankion_core.models import Page

from .convert import dumps, unstructure

T = TypeVar("T")

#: orjson options for plain data (``plain=True``): a UTC datetime ends in ``Z``, as
#: ``iso_z`` (the converter's datetime hook) writes it, microseconds only when nonzero
PLAIN_OPTIONS = orjson.OPT_UTC_Z


def dumps_plain(obj: Any) -> bytes:
    """JSON bytes of plain data whose datetimes (UTC) and enums orjson writes itself."""
    return orjson.dumps(obj, option=PLAIN_OPTIONS)


def ok(
    data: Any,
    *,
    status: int = 200,
    location: str | None = None,
    headers: Mapping[str, str] | None = None,
    plain: bool = False,
    warnings: Sequence[WarningOut] | None = None,
) -> web.Response:
    """``data`` (an attrs response object, or plain data) in the success envelope.

    ``plain``: ``data`` is already what orjson should write (``render.image_row``):
    no cattrs pass, datetimes and enums go to orjson as they are. ``warnings``: the
    envelope's ``warnings`` array beside ``data`` (on the operations that have one,
    always, empty when there is nothing to say)."""
    extra = dict(headers or {})
    if location is not None:
        extra["Location"] = location
    if plain:
        body = dumps_plain({"data": data})
    elif warnings is None:
        body = dumps({"data": unstructure(data)})
    else:
        body = dumps({"data": unstructure(data), "warnings": unstructure(list(warnings))})
    return web.Response(
        status=status,
        body=body,
        content_type="application/json",
        headers=extra,
    )


def page(
    items: Page[T],
    render: Callable[[T], Any],
    *,
    headers: Mapping[str, str] | None = None,
    plain: bool = False,
) -> web.Response:
    """A page of ``render(item)`` with ``meta``; ``plain`` as for ``ok``."""
    meta = {
        "page": items.page,
        "per_page": items.per_page,
        "total": items.total,
        "last_page": items.last_page,
        "total_exact": items.total_exact,
    }
    if plain:
        body = dumps_plain({"data": [render(item) for item in items.items], "meta": meta})
    else:
        body = dumps({"data": [unstructure(render(item)) for item in items.items], "meta": meta})
    return web.Response(body=body, content_type="application/json", headers=headers)


def no_content() -> web.Response:
    return web.Response(status=204)
