"""The application factory: ``create_app(config)`` for ``rankion serve`` and for tests.

Everything the app adds around the core is decided here, before the core is built:
the metrics' timing of the provider and the job handlers, and — when
``config.workers > 0`` — the ``WorkerPool``'s provider slots and wake-ups
(``rankion_core.Hooks``). Backends are opened from the config's URLs
(``wiring.build``, with those hooks) when the app starts and closed when it stops.
An embedding app or a test may pass its own ``Rankion``: the app then runs on a copy
built over the same ports with the hooks added (``Rankion.derive``); the caller's
object is never changed, and its backends are left open. One start-up step opens
the backends and then starts the pool; it stops the pool before it closes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web

from rankion_core import Hooks, Rankion
from rankion_core.ports import Clock
from rankion_core.services import Shares
from rankion_core.services.shares import FLUSH_SECONDS

from . import wiring
from .auth import TokenCache
from .config import ServerConfig
from .ics import FEED_CACHE, FeedCache
from .keys import CONFIG, RANKION, TOKEN_CACHE, WEB_APP, WORKERS
from .limits import (
    CHARGE_BUCKETS,
    OPEN_STREAMS,
    TEAM_REQUESTS,
    WRITE_BUCKETS,
    OpenStreams,
    TeamRequests,
    TokenBuckets,
    body_limit_middleware,
)
from .logs import kv
from .metrics import METRICS, Metrics, metrics_middleware
from .middleware import add_request_id, auth_middleware, errors_middleware
from .mount import mounted_base, prefix_location, prefix_of, remember
from .routes import add_routes
from .surface import server_header
from .web.install import install as install_web

log = logging.getLogger("rankion.server")


def _lifecycle(
    hooks: Hooks, clock: Clock | None, web_app: bool
) -> Callable[[web.Application], AsyncIterator[None]]:
    """The one ``cleanup_ctx`` step: open the backends (unless a ``Rankion`` was
    given; under a mount's prefix, with links that carry it), start the workers; on the
    way out stop the workers, then close. A web app mounted under a prefix, where its
    root-relative links lead nowhere, is logged as a warning."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        opened: Rankion | None = None
        prefix = prefix_of(app)
        if prefix and web_app:
            log.warning(kv(event="web_app_under_prefix", prefix=prefix, hint="web_app=False"))
        if RANKION not in app:
            base = mounted_base(app[CONFIG].base_url, prefix)
            opened = await wiring.build(app[CONFIG], hooks, clock=clock, base_url=base)
            app[RANKION] = opened
        elif prefix:  # a given core under a prefix: its links point into the mount
            served = app[RANKION]
            base = mounted_base(served.deps.base_url, prefix)
            app[RANKION] = served.derive(signer=served.deps.signer.rebased(base))
        pool = app[WORKERS]
        try:
            if pool is not None:
                pool.start(app[RANKION])
            async with _view_counts(app[RANKION].shares):
                yield
        finally:
            try:
                if pool is not None:
                    await pool.stop()
            finally:
                if opened is not None:
                    await wiring.close(opened)

    return run


async def _end_streams(app: web.Application) -> None:
    """On a graceful stop, before the server waits for the requests in hand: open event
    streams end, so they do not hold the stop up (the workers still run)."""
    app[OPEN_STREAMS].closing = True


@contextlib.asynccontextmanager
async def _view_counts(shares: Shares) -> AsyncIterator[None]:
    """Write the share views counted in this process every ``FLUSH_SECONDS``, and once
    more on a graceful stop (before the backends close)."""

    async def flush() -> None:
        try:
            await shares.flush_views()
        except Exception as exc:  # kept counted; the next flush tries again
            log.warning(kv(event="view_flush_failed", error=type(exc).__name__))

    async def every_second() -> None:
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            await flush()

    task = asyncio.create_task(every_second())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await flush()


def create_app(
    config: ServerConfig,
    *,
    rankion: Rankion | None = None,
    clock: Clock | None = None,
    web_app: bool = True,
) -> web.Application:
    """``rankion``: run on the embedding app's ports (left open, never changed);
    ``clock``: the time the services read (default: the system's, or the given
    ``Rankion``'s); ``web_app``: serve the web app under ``/app`` too (it works at a
    server's root only: leave it out when mounting the API under a prefix).

    The app may be mounted in a host aiohttp app (``host.add_subapp("/rankion", app)``):
    everything it hands out then carries the prefix (``mount``)."""
    app = web.Application(
        client_max_size=config.max_body_bytes,
        middlewares=[metrics_middleware, errors_middleware, body_limit_middleware, auth_middleware],
    )
    app[CONFIG] = config
    app[TOKEN_CACHE] = TokenCache()
    app[METRICS] = Metrics()
    app[FEED_CACHE] = FeedCache()
    app[CHARGE_BUCKETS] = TokenBuckets(config.charge_rate)
    app[WRITE_BUCKETS] = TokenBuckets(config.write_rate)
    app[OPEN_STREAMS] = OpenStreams(config.max_streams_per_team)
    app[TEAM_REQUESTS] = TeamRequests(config.max_requests_per_team)
    app[METRICS].open_streams.set_function(app[OPEN_STREAMS].total)
    pool = wiring.worker_pool(config) if config.workers > 0 else None
    app[WORKERS] = pool
    hooks = app[METRICS].hooks()
    if pool is not None:
        hooks += pool.hooks()
    if rankion is not None:
        changes = {"clock": clock} if clock is not None else {}
        app[RANKION] = rankion.derive(hooks, **changes)
    app.on_shutdown.append(_end_streams)
    app.cleanup_ctx.append(_lifecycle(hooks, clock, web_app))
    app.on_response_prepare.append(add_request_id)
    app.on_response_prepare.append(server_header)
    app.on_response_prepare.append(prefix_location)
    add_routes(app)
    app[WEB_APP] = web_app
    if web_app:
        install_web(app)  # the web app's pages, after the API's routes
    remember(app)
    return app
