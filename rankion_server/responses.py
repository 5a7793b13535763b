"""Success answers: ``{"data": ...}``, lists with ``meta``, ``201``/``202`` with Location."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aiohttp import web

from rankion_core.models import Page

from .convert import dumps, unstructure

T = TypeVar("T")


def ok(
    data: Any,
    *,
    status: int = 200,
    location: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    """``data`` (an attrs response object, or plain data) in the success envelope."""
    extra = dict(headers or {})
    if location is not None:
        extra["Location"] = location
    return web.Response(
        status=status,
        body=dumps({"data": unstructure(data)}),
        content_type="application/json",
        headers=extra,
    )


def page(
    items: Page[T],
    render: Callable[[T], Any],
    *,
    headers: Mapping[str, str] | None = None,
) -> web.Response:
    meta = {
        "page": items.page,
        "per_page": items.per_page,
        "total": items.total,
        "last_page": items.last_page,
    }
    body = {"data": [unstructure(render(item)) for item in items.items], "meta": meta}
    return web.Response(body=dumps(body), content_type="application/json", headers=headers)


def no_content() -> web.Response:
    return web.Response(status=204)
