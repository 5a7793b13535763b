"""Path patterns shared by the routes.

Ids are positive integers up to 2^63 - 1: anything else in an id segment (``abc``,
``0``, ``-1``, a 30-digit number, 9223372036854775808) answers the same ``404`` as a
missing id (longer than 19 digits it does not even match the route).
"""

from __future__ import annotations

from aiohttp import web

from rankion_core.errors import NotFound
from rankion_core.rules.limits import ID_MAX

from ..missing import path_kind
from ..mount import api_path

ID = r"[1-9][0-9]{0,18}"


def seg(name: str) -> str:
    """``{name:<id regex>}`` for a route path."""
    return "{" + name + ":" + ID + "}"


def path_id(request: web.Request, name: str = "id") -> int:
    """The id ``name`` of the path; one above 2^63 - 1 is the 404 of a missing one."""
    value = int(request.match_info[name])
    if value > ID_MAX:
        raise NotFound(path_kind(api_path(request), name))
    return value
