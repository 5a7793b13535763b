"""Running commands: the admin ones (open, act, close), ``serve`` and ``worker``."""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import logging
import os
import signal
import sys
from collections.abc import Mapping
from typing import Any

from .. import wiring
from ..allocator import keep_chunk_memory
from ..config import ServerConfig
from ..logs import TextFormatter, use_json
from ..settings import BY_NAME, default
from .admin import create_team, migrate
from .base import (
    AdminAction,
    CommandError,
    Output,
    UsageError,
    emit,
    make_config,
    print_json,
    redact,
    wants_json,
    warn,
)

DEFAULT_WORKERS: int = default("workers")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: loggers whose INFO lines say nothing an operator needs (alembic lists its plugins)
QUIET_LOGGERS = ("alembic",)

log = logging.getLogger("rankion.cli")

#: the admin commands that may start a new data dir; every other one refuses a missing one
CREATES_DATA_DIR = (create_team, migrate)


# ---------------------------------------------------------------- admin commands


def run_admin(args: argparse.Namespace) -> int:
    creates = args.admin_action in CREATES_DATA_DIR
    config = make_config(args, os.environ, create_dir=creates, workers=0)
    output = asyncio.run(with_services(config, args.admin_action, args))
    emit(args, output)
    return 0


async def with_services(
    config: ServerConfig, action: AdminAction, args: argparse.Namespace
) -> Output:
    """Open the backends (which migrates the database), act, close them."""
    app = await wiring.build(config)
    try:
        return await action(app, args)
    finally:
        await wiring.close(app)


# ---------------------------------------------------------------- serve


def run_serve(args: argparse.Namespace) -> int:
    # imported here: the admin commands need none of the HTTP layer
    from .. import surface
    from ..app import create_app

    config = make_config(
        args,
        os.environ,
        create_dir=True,
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        workers=serve_workers(args),
        max_active_jobs=args.max_active_jobs,
        charge_rate=args.charge_rate,
        **provider_settings(args),
    )
    prepare(config, os.environ)
    try:
        surface.run(
            create_app(config),
            host=config.host,
            port=config.port,
            started=lambda: ready(args, config, serving=True),
        )
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise CommandError(
            f"{config.host}:{config.port} is already in use; "
            "pick another port with --port N (or stop what runs there)"
        ) from None
    return 0


def serve_workers(args: argparse.Namespace) -> int | None:
    """The job slots the command line asks for; None: the environment's, or the default."""
    return 0 if args.no_workers else args.workers


# ---------------------------------------------------------------- worker


def run_worker(args: argparse.Namespace) -> int:
    config = make_config(args, os.environ, workers=args.concurrency, **provider_settings(args))
    if config.workers == 0:  # a worker process without job slots has nothing to do
        config.workers = DEFAULT_WORKERS
    prepare(config, os.environ)
    asyncio.run(work(args, config))
    return 0


async def work(args: argparse.Namespace, config: ServerConfig) -> None:
    """Run ``config.workers`` job loops and maintenance until SIGTERM or SIGINT."""
    pool = wiring.worker_pool(config)
    app = await wiring.build(config, pool.hooks())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        pool.start(app)
        ready(args, config, serving=False)
        await stop.wait()
        log.info("stopping: finishing the jobs in hand")
        await pool.stop()
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        await wiring.close(app)
    log.info("stopped")


# ---------------------------------------------------------------- shared by both


def provider_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The provider and its options the command line names (None: not named)."""
    return {"provider": args.provider, "provider_options": dict(args.provider_option)}


def prepare(config: ServerConfig, environ: Mapping[str, str]) -> None:
    """A word on what cannot work, logging on stderr, a word on the secret, and the
    allocator tuned for blob chunks (``rankion_server.allocator``)."""
    keyless = "api_key" not in config.provider_options and not environ.get("OPENAI_API_KEY")
    if config.provider == "openai" and keyless:
        raise UsageError("the openai provider needs OPENAI_API_KEY in the environment")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=config.log_level, handlers=[handler])
    if config.log_format == "json":
        use_json()
    if logging.getLogger().level > logging.DEBUG:
        for chatty in QUIET_LOGGERS:
            logging.getLogger(chatty).setLevel(logging.WARNING)
    if config.ephemeral_secret:
        warn(
            f"{BY_NAME['secret'].env} is not set: signed links use a random key that other "
            "processes do not share and that is lost on restart"
        )
    keep_chunk_memory(environ)


def ready(args: argparse.Namespace, config: ServerConfig, *, serving: bool) -> None:
    """The process has started: settle its heap, then say so.

    What startup built (modules, routes, compiled statements, pools) lives as long as
    the process, so it is moved out of the garbage collector's reach (``gc.freeze``).
    Otherwise every full collection walks it again: 20-60 ms with the loop stopped,
    every second or so under load, which every request in flight waits out."""
    gc.collect()
    gc.freeze()
    announce(args, config, serving=serving)


def announce(args: argparse.Namespace, config: ServerConfig, *, serving: bool) -> None:
    """The startup line, on stdout once the process is ready."""
    listen = f"http://{config.host}:{config.port}"
    data = {
        "status": "serving" if serving else "working",
        "url": listen if serving else None,
        "public_url": config.base_url,
        "workers": config.workers,
        "provider": config.provider,
        "database": redact(config.database_url),
        "blobs": redact(config.blobs_url),
    }
    if wants_json(args):
        print_json(data)
        return
    head = f"rankion serving on {listen}" if serving else "rankion worker running"
    print(
        f"{head} — {config.workers} job workers, provider {config.provider}, "
        f"database {data['database']}, blobs {data['blobs']} (Ctrl+C to stop)",
        flush=True,
    )
