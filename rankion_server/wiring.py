"""Find backends by URL scheme or name through entry points and wire the core.

Groups: ``rankion.storage`` (by URL scheme: sqlite, postgresql, memory),
``rankion.blobs`` (file, s3, memory), ``rankion.providers`` (procedural, openai),
``rankion.codecs`` (pillow).
A third-party package registers its own backend under the same groups.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from importlib.metadata import EntryPoints, entry_points
from typing import Any
from urllib.parse import urlsplit

from rankion_core import Deps, HmacUrlSigner, Hooks, Rankion
from rankion_core.defaults import SystemClock
from rankion_core.errors import Invalid
from rankion_core.ports import BlobStore, Clock, ImageCodec, ImageProvider, Storage
from rankion_core.rules.webhooks import RetryPolicy
from rankion_core.workers import WorkerPool

from .config import ServerConfig
from .webhook_sender import AiohttpWebhookSender

INSTALL_HINTS = {
    ("rankion.storage", "postgresql"): "pip install 'rankion[postgres]'",
    ("rankion.blobs", "s3"): "pip install 'rankion[s3]'",
    ("rankion.providers", "openai"): "pip install 'rankion[openai]'",
}


@functools.cache
def _entry_points(group: str, name: str) -> EntryPoints:
    """Scanning installed distributions takes ~10 ms: do it once per name."""
    return entry_points(group=group, name=name)


def load(group: str, name: str) -> Callable[..., Any]:
    found = _entry_points(group, name)
    if not found:
        known = sorted(ep.name for ep in entry_points(group=group))
        raise Invalid(f"no {group} backend named {name!r}; known: {', '.join(known)}")
    try:
        return found[next(iter(found.names))].load()  # type: ignore[no-any-return]
    except ImportError as exc:
        hint = INSTALL_HINTS.get((group, name), "")
        raise Invalid(f"the {name!r} backend needs extra packages: {hint}") from exc


def scheme(url: str) -> str:
    return urlsplit(url).scheme.split("+", 1)[0]


def open_storage(url: str) -> Storage:
    return load("rankion.storage", scheme(url))(url)  # type: ignore[no-any-return]


def open_blobs(url: str, *, s3_endpoint_url: str | None = None) -> BlobStore:
    """The blob store ``url`` names; an ``s3`` one at ``s3_endpoint_url`` when given."""
    name = scheme(url) if "://" in url else "file"
    options = {"endpoint_url": s3_endpoint_url} if name == "s3" and s3_endpoint_url else {}
    return load("rankion.blobs", name)(url, **options)  # type: ignore[no-any-return]


def open_provider(name: str, options: dict[str, str]) -> ImageProvider:
    return load("rankion.providers", name)(**options)  # type: ignore[no-any-return]


def open_codec(name: str) -> ImageCodec:
    return load("rankion.codecs", name)()  # type: ignore[no-any-return]


async def build(
    config: ServerConfig,
    hooks: Hooks = Hooks(),
    *,
    clock: Clock | None = None,
    base_url: str | None = None,
) -> Rankion:
    """Open every backend the config names and build the services over them, with
    ``hooks`` (metrics, worker wake-ups) wired in and ``clock`` (default: the system's);
    links start with ``base_url`` (default: the config's)."""
    storage = open_storage(config.database_url)
    if config.migrate:
        await storage.migrate()
    deps = Deps(
        storage=storage,
        blobs=open_blobs(config.blobs_url, s3_endpoint_url=config.s3_endpoint_url),
        provider=open_provider(config.provider, config.provider_options),
        codec=open_codec(config.codec),
        signer=HmacUrlSigner(config.secret, base_url or config.base_url),
        webhook_sender=AiohttpWebhookSender(
            allow_private=config.webhooks_allow_private, timeout=config.webhook_timeout_seconds
        ),
        webhook_policy=webhook_policy(config),
        max_active_jobs=config.max_active_jobs,
        max_webhooks=config.max_webhooks,
        max_projects=config.max_projects,
        max_calendar_events=config.max_calendar_events,
        max_chat_sessions=config.max_chat_sessions,
        max_active_exports=config.max_active_exports,
        max_export_bytes=config.max_export_bytes,
        max_pending_deliveries=config.max_pending_deliveries,
        clock=clock or SystemClock(),
    )
    return Rankion(deps, lease=timedelta(seconds=config.lease_seconds), hooks=hooks)


def worker_pool(config: ServerConfig) -> WorkerPool:
    """The job loops and maintenance the config asks for; build the ``Rankion`` they
    run with ``pool.hooks()``, then ``pool.start(rankion)``."""
    return WorkerPool(
        size=config.workers,
        poll_seconds=config.poll_seconds,
        maintenance_seconds=config.purge_interval_seconds,
        export_loops=config.export_workers,
        delivery_loops=config.webhook_workers,
    )


def webhook_policy(config: ServerConfig) -> RetryPolicy:
    return RetryPolicy(
        backoff=timedelta(seconds=config.webhook_backoff_seconds),
        allow_private=config.webhooks_allow_private,
    )


async def close(app: Rankion) -> None:
    """Close the backends ``build`` opened."""
    await app.close()
