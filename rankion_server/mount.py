"""Where the API is mounted: at a server's root (``rankion serve``), or under a prefix
of a host aiohttp app (``host.add_subapp("/rankion", create_app(config))``).

The prefix is read from the mount itself — aiohttp puts it in front of every route of
a sub-application — so the API needs no option for it. What the API hands out carries
it: ``Location`` headers (``/rankion/v1/images/12``), and every absolute URL the core
makes (``url``, ``thumbnail_url``, ``public_url``, feed URLs), whose base is the public
URL with the prefix added (``mounted_base``). Paths the API reads (``api_path``) are
without it, so a route's rules are the same wherever it is mounted.
"""

from __future__ import annotations

from aiohttp import web
from attrs import define

#: the paths ``prefix_location`` prefixes: every ``Location`` the API hands out
API_PATHS = "/v1/"


@define
class Mount:
    """One route of the API (``probe``) and its path as registered (``canonical``):
    what aiohttp has put in front of it since is the mount's prefix."""

    probe: web.AbstractResource
    canonical: str

    @property
    def prefix(self) -> str:
        """``""`` at a server's root, else ``/rankion`` (no trailing slash)."""
        return self.probe.canonical.removesuffix(self.canonical)


MOUNT = web.AppKey("mount", Mount)


def remember(app: web.Application) -> None:
    """Note one of ``app``'s routes (call once the routes are added)."""
    probe = next(iter(app.router.resources()))
    app[MOUNT] = Mount(probe, probe.canonical)


def prefix_of(app: web.Application) -> str:
    mount = app.get(MOUNT)
    return mount.prefix if mount is not None else ""


def api_path(request: web.Request) -> str:
    """The request's path without the mount's prefix: ``/v1/images/12``."""
    return request.path.removeprefix(prefix_of(request.app))


def mounted_base(base_url: str, prefix: str) -> str:
    """The public URL of the API: ``base_url`` (the host's public root) with the
    mount's ``prefix`` added, unless the base already ends with it."""
    base = base_url.rstrip("/")
    return base if not prefix or base.endswith(prefix) else base + prefix


async def prefix_location(request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: a ``Location`` into the API carries the mount's prefix."""
    location = response.headers.get("Location")
    if location is not None and location.startswith(API_PATHS):
        prefix = prefix_of(request.app)
        if prefix:
            response.headers["Location"] = prefix + location
