"""Plug the web app into the server: templates, the session key, the routes."""

from __future__ import annotations

import aiohttp_jinja2
import jinja2
from aiohttp import web

from .. import render
from ..keys import CONFIG
from . import assets, pages
from .session import SESSION_KEY, session_key


def install(app: web.Application) -> None:
    """Call after the API's routes: the app's catch-all 404 comes last."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("rankion_server.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset"] = assets.asset_url
    env.globals["icon"] = assets.ICON
    env.filters["counted"] = render.counted
    env.filters["days_left"] = pages.days_left
    env.filters["image_name"] = pages.image_name
    app[SESSION_KEY] = session_key(app[CONFIG].secret)
    app.router.add_routes(assets.routes)
    app.router.add_routes(pages.routes)
