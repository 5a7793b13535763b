"""Typed keys for what lives in the application and in each request."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from rankion_core import Actor, Rankion
from rankion_core.workers import WorkerPool

from .auth import TokenCache
from .config import ServerConfig

CONFIG = web.AppKey("config", ServerConfig)
RANKION = web.AppKey("rankion", Rankion)
TOKEN_CACHE = web.AppKey("token_cache", TokenCache)
WORKERS: web.AppKey[WorkerPool | None] = web.AppKey("workers")
#: the web app's pages are served beside the API (``create_app(web_app=True)``)
WEB_APP = web.AppKey("web_app", bool)

ACTOR = web.RequestKey("actor", Actor)
REQUEST_ID = web.RequestKey("request_id", str)
BODY: web.RequestKey[dict[str, Any]] = web.RequestKey("body")


def rankion(request: web.Request) -> Rankion:
    return request.app[RANKION]


def actor(request: web.Request) -> Actor:
    """The authenticated caller (set by the auth middleware on every private route)."""
    return request[ACTOR]
