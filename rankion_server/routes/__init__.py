"""Every route of the server, one module per resource."""

from __future__ import annotations

from aiohttp import web

from . import (
    apidocs,
    calendar,
    creation,
    credits,
    exports,
    feeds,
    files,
    images,
    job_events,
    jobs,
    metrics,
    models,
    ops,
    projects,
    public,
    shares,
    tokens,
    trash,
    webhooks,
)

#: in registration order; fixed paths come before the ``{id}`` routes they resemble
TABLES: tuple[web.RouteTableDef, ...] = (
    ops.routes,
    apidocs.routes,
    metrics.routes,
    projects.routes,
    calendar.routes,
    feeds.routes,
    creation.routes,
    models.routes,
    exports.routes,
    images.routes,
    trash.routes,
    shares.routes,
    jobs.routes,
    job_events.routes,
    webhooks.routes,
    credits.routes,
    tokens.routes,
    public.routes,
    files.routes,
)


def add_routes(app: web.Application) -> None:
    for table in TABLES:
        app.router.add_routes(table)
