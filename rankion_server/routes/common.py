"""Path patterns shared by the routes.

Ids are positive integers of at most 18 digits: anything else in an id segment
(``abc``, ``0``, ``-1``, a 30-digit number) does not match the route and answers the
same ``404`` as a missing id.
"""

from __future__ import annotations

from aiohttp import web

ID = r"[1-9][0-9]{0,17}"


def seg(name: str) -> str:
    """``{name:<id regex>}`` for a route path."""
    return "{" + name + ":" + ID + "}"


def path_id(request: web.Request, name: str = "id") -> int:
    return int(request.match_info[name])
