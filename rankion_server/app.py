"""The application factory: ``create_app(config)`` for ``rankion serve`` and for tests.

Backends are opened from the config's URLs (``wiring.build``) when the app starts and
closed when it stops; an embedding app or a test may pass its own ``Rankion``, which
is then used as is and left open. When ``config.workers > 0`` a ``WorkerPool`` runs
jobs and the periodic maintenance in this process, and is stopped gracefully.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from rankion_core import Rankion

from . import wiring
from .auth import TokenCache
from .config import ServerConfig
from .ics import FEED_CACHE, FeedCache
from .keys import CONFIG, RANKION, TOKEN_CACHE, WORKERS
from .limits import (
    CHARGE_BUCKETS,
    OPEN_STREAMS,
    OpenStreams,
    TokenBuckets,
    body_limit_middleware,
)
from .metrics import METRICS, Metrics, instrument, metrics_middleware
from .middleware import add_request_id, auth_middleware, errors_middleware
from .routes import add_routes
from .surface import server_header
from .web.install import install as install_web
from .workers import WorkerPool


async def _backends(app: web.Application) -> AsyncIterator[None]:
    """Open the backends the config names (unless a ``Rankion`` was given)."""
    if RANKION in app:
        yield
        return
    built = await wiring.build(app[CONFIG])
    app[RANKION] = built
    try:
        yield
    finally:
        await wiring.close(built)


async def _workers(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    pool: WorkerPool | None = None
    if config.workers > 0:
        pool = WorkerPool(
            app[RANKION],
            size=config.workers,
            poll_seconds=config.poll_seconds,
            maintenance_seconds=config.purge_interval_seconds,
            export_loops=config.export_workers,
            delivery_loops=config.webhook_workers,
        )
        pool.start()
    app[WORKERS] = pool
    try:
        yield
    finally:
        if pool is not None:
            await pool.stop()


def create_app(config: ServerConfig, *, rankion: Rankion | None = None) -> web.Application:
    app = web.Application(
        client_max_size=config.max_body_bytes,
        middlewares=[metrics_middleware, errors_middleware, body_limit_middleware, auth_middleware],
    )
    app[CONFIG] = config
    app[TOKEN_CACHE] = TokenCache()
    app[METRICS] = Metrics()
    app[FEED_CACHE] = FeedCache()
    app[CHARGE_BUCKETS] = TokenBuckets(config.charge_rate)
    app[OPEN_STREAMS] = OpenStreams(config.max_streams_per_team)
    app[METRICS].open_streams.set_function(app[OPEN_STREAMS].total)
    if rankion is not None:
        app[RANKION] = rankion
    app.cleanup_ctx.append(_backends)
    app.cleanup_ctx.append(instrument)  # before the workers, so they run timed handlers
    app.cleanup_ctx.append(_workers)
    app.on_response_prepare.append(add_request_id)
    app.on_response_prepare.append(server_header)
    add_routes(app)
    install_web(app)  # the web app's pages, after the API's routes
    return app
