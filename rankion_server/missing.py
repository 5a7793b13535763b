"""What a 404 names: the kind of resource an id in the path stands for.

``GET /v1/images/12`` of a missing or another team's image, ``/v1/images/abc`` and
``/v1/images/99999999999999999999`` all answer ``image not found``, byte for byte; a
path that names no resource at all answers ``not found``.
"""

from __future__ import annotations

import functools
import re

from aiohttp import web

from rankion_core.rules.limits import ID_MAX

#: what an id in a path names, by the path's first part under ``/v1`` (``job_id``
#: under ``/v1/images/exports`` is an export's, ``project`` always a project's)
PATH_KINDS = {
    "images": "image",
    "calendar": "event",
    "chat": "chat session",
    "jobs": "job",
    "projects": "project",
    "tokens": "token",
    "webhooks": "webhook",
}
_ID = re.compile(r"[1-9][0-9]{0,18}")
_NAME = re.compile(r"\{(\w+)\}")


def path_kind(path: str, name: str) -> str:
    """The kind of resource the id ``name`` in ``path`` stands for."""
    if path.endswith("/calendar.ics"):  # whatever is missing, the feed is (a bad token)
        return "feed"
    if name == "project":
        return "project"
    if path.startswith("/v1/images/exports/"):
        return "export"
    return PATH_KINDS.get(path.removeprefix("/v1/").split("/", 1)[0], "resource")


def unmatched_kind(router: web.UrlDispatcher, path: str, prefix: str = "") -> str | None:
    """For a path no route matched (without the mount's ``prefix``): the kind of the id
    that kept it from matching a route (``/v1/images/abc``), or None when no route has
    that shape."""
    canonicals = tuple(r.canonical.removeprefix(prefix) for r in router.resources())
    for pattern in _shapes(canonicals):
        found = pattern.fullmatch(path)
        if found is None:
            continue
        for name, value in found.groupdict().items():
            if not _ID.fullmatch(value) or int(value) > ID_MAX:
                return path_kind(path, name)
    return None


@functools.cache
def _shapes(canonicals: tuple[str, ...]) -> list[re.Pattern[str]]:
    """Every route with ids in its path, any text in the id segments."""
    shapes: list[re.Pattern[str]] = []
    for canonical in canonicals:
        if "{" not in canonical or not canonical.startswith("/v1/"):
            continue
        parts = _NAME.split(canonical)  # text, name, text, name, …, text
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts)
        )
        shapes.append(re.compile(regex))
    return shapes
