"""Prometheus metrics of one app, in a registry of its own (never the global one).

- ``rankion_http_requests_total{method,route,status}`` and
  ``rankion_http_request_duration_seconds{method,route}``: ``route`` is the route
  template (``/v1/images/{id}``), ``unmatched`` for unknown paths, so the label set
  stays small whatever clients send.
- ``rankion_jobs_total{kind,status}`` (``succeeded``, ``failed``, ``retried``) and
  ``rankion_job_duration_seconds{kind}``: the jobs this process's workers ran.
- ``rankion_jobs_queue_depth``: jobs claimable now, by any worker of the deployment
  (read from storage at each scrape).
- ``rankion_provider_request_duration_seconds{provider,operation,outcome}``.
- ``rankion_event_streams_open``: job event streams this process holds open now.

``Metrics.hooks()`` times the provider and the job handlers: ``create_app`` hands
them to ``wiring.build`` (or to ``Rankion.derive``), so they are wired in before
the services are built and never swapped while they run.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable
from typing import TypeVar

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from rankion_core import Hooks, ProviderRejected, ProviderUnavailable, Rankion
from rankion_core.models import Job, JobKind
from rankion_core.ports import EditSpec, GenerateSpec, ImageProvider, PreviewSink, ProviderImage
from rankion_core.services.hooks import Handler
from rankion_core.services.jobs import PermanentFailure

from .operations import Handler as RouteHandler

__all__ = ["CONTENT_TYPE", "METRICS", "Metrics", "metrics_middleware"]

log = logging.getLogger("rankion.server")
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest writes
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: (method, route, status) combinations whose metrics are kept at hand (past it, looked up)
ANSWERS_KEPT = 1024
SLOW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
T = TypeVar("T")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "rankion_http_requests", "HTTP answers", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "rankion_http_request_duration_seconds",
            "Time to answer a request",
            ["method", "route"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.jobs = Counter(
            "rankion_jobs", "Jobs run by this process", ["kind", "status"], registry=r
        )
        self.job_seconds = Histogram(
            "rankion_job_duration_seconds",
            "Time to run a job",
            ["kind"],
            buckets=SLOW_BUCKETS,
            registry=r,
        )
        self.queue_depth = Gauge(
            "rankion_jobs_queue_depth", "Jobs claimable now, deployment-wide", registry=r
        )
        self.open_streams = Gauge(
            "rankion_event_streams_open", "Job event streams open in this process", registry=r
        )
        self.provider = Histogram(
            "rankion_provider_request_duration_seconds",
            "Time the image provider took",
            ["provider", "operation", "outcome"],
            buckets=SLOW_BUCKETS,
            registry=r,
        )
        #: the counter and histogram of each (method, route, status) seen: ``labels()``
        #: takes a lock and checks its values on every call
        self._answers: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        counted = self._answers.get(key)
        if counted is None:
            counter = self.requests.labels(method, route, str(status))
            counted = (counter, self.latency.labels(method, route))
            if len(self._answers) < ANSWERS_KEPT:
                self._answers[key] = counted
        counted[0].inc()
        counted[1].observe(seconds)

    async def refresh(self, app: Rankion) -> None:
        """Read what lives in storage (the queue depth); NaN when storage is down."""
        try:
            async with app.deps.storage.unit_of_work() as uow:
                depth = await uow.jobs.count_claimable(app.deps.clock.now())
        except Exception as exc:  # a scrape must answer even when storage does not
            log.warning("metrics: queue depth unavailable (%s)", type(exc).__name__)
            self.queue_depth.set(math.nan)
            return
        self.queue_depth.set(depth)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def hooks(self) -> Hooks:
        """The provider's calls and the job handlers, timed into this registry."""
        return Hooks(provider=(self.timed_provider,), jobs=(self.timed_job,))

    def timed_provider(self, provider: ImageProvider) -> ImageProvider:
        return TimedProvider(provider, self)

    def timed_job(self, kind: JobKind, handler: Handler) -> Handler:
        async def run(job: Job) -> None:
            started = time.perf_counter()
            status = "retried"
            try:
                await handler(job)
                status = "succeeded"
            except (PermanentFailure, ProviderRejected):
                status = "failed"
                raise
            finally:
                self.jobs.labels(kind.value, status).inc()
                self.job_seconds.labels(kind.value).observe(time.perf_counter() - started)

        return run


METRICS = web.AppKey("metrics", Metrics)


class TimedProvider:
    """``provider`` with each call's duration and outcome recorded."""

    def __init__(self, provider: ImageProvider, metrics: Metrics) -> None:
        self.inner = provider
        self.name = provider.name
        self.default_model = provider.default_model
        self.capabilities = provider.capabilities
        self._metrics = metrics

    async def _timed(self, operation: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        outcome = "error"
        try:
            result = await call
            outcome = "ok"
            return result
        except ProviderRejected:
            outcome = "rejected"
            raise
        except ProviderUnavailable:
            outcome = "unavailable"
            raise
        finally:
            seconds = time.perf_counter() - started
            self._metrics.provider.labels(self.name, operation, outcome).observe(seconds)

    async def generate(
        self, spec: GenerateSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        return await self._timed("generate", self.inner.generate(spec, previews))

    async def edit(
        self, source: bytes, spec: EditSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        return await self._timed("edit", self.inner.edit(source, spec, previews))

    async def close(self) -> None:
        await self.inner.close()


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def metrics_middleware(request: web.Request, handler: RouteHandler) -> web.StreamResponse:
    """Outermost: counts every answer, errors included, by route template."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except ConnectionResetError:
        status = 499  # the client went away
        raise
    finally:
        seconds = time.perf_counter() - started
        request.app[METRICS].observe_request(request.method, _route(request), status, seconds)
