"""What each route is, for the auth middleware and the OpenAPI document alike.

Every handler carries an ``Op`` (``@operation(...)``): whether it is public, its body
class, query parameters, answer shape and the errors it documents. The auth
middleware reads ``public`` from here, so a route's documentation and its access rule
cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from attrs import define, field

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
H = TypeVar("H", bound=Handler)


@define(frozen=True)
class Param:
    """A documented query or header parameter."""

    name: str
    schema: dict[str, Any]
    description: str = ""
    where: str = "query"
    required: bool = False


@define(frozen=True)
class Op:
    summary: str
    tag: str
    status: int = 200
    #: attrs response class of ``data`` (None: no JSON body)
    response: type | None = None
    paged: bool = False
    #: ``data`` is a plain array of ``response`` (no paging ``meta``)
    listed: bool = False
    #: attrs request body class
    body: type | None = None
    body_optional: bool = False
    params: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()
    public: bool = False
    #: a media type other than JSON for the success answer (HTML, bytes)
    media: str | None = None
    headers: tuple[str, ...] = ()
    #: the answer carries an ``ETag`` and is ``304`` on a matching ``If-None-Match``
    conditional: bool = False
    deprecated: bool = False
    #: the answer carries ``warnings`` beside ``data`` (``WarningOut``, maybe empty)
    warns: bool = False
    description: str = ""
    extra: dict[str, Any] = field(factory=dict)


_OPS: dict[Callable[..., Any], Op] = {}


def operation(summary: str, tag: str, **options: Any) -> Callable[[H], H]:
    """Attach an ``Op`` to a handler (apply it below ``@routes.get(...)``)."""

    def register(handler: H) -> H:
        _OPS[handler] = Op(summary, tag, **options)
        return handler

    return register


def op_of(handler: Callable[..., Any]) -> Op | None:
    return _OPS.get(handler)
