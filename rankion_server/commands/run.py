"""Running commands: the admin ones (open, act, close), ``serve`` and ``worker``."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import sys
from typing import Any

from .. import wiring
from ..config import ServerConfig
from ..logs import use_json_if_asked
from .admin import create_team, migrate
from .base import (
    AdminAction,
    CommandError,
    Output,
    UsageError,
    emit,
    env_count,
    make_config,
    print_json,
    redact,
    setting,
    wants_json,
    warn,
)

DEFAULT_WORKERS = 2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: loggers whose INFO lines say nothing an operator needs (alembic lists its plugins)
QUIET_LOGGERS = ("alembic",)

log = logging.getLogger("rankion.cli")

#: the admin commands that may start a new data dir; every other one refuses a missing one
CREATES_DATA_DIR = (create_team, migrate)


# ---------------------------------------------------------------- admin commands


def run_admin(args: argparse.Namespace) -> int:
    creates = args.admin_action in CREATES_DATA_DIR
    config = make_config(args, create_dir=creates, workers=0)
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
        create_dir=True,
        host=args.host,
        port=args.port,
        public_url=args.public_url,
        workers=serve_workers(args),
        max_active_jobs=args.max_active_jobs,
        charge_rate=args.charge_rate,
        **provider_settings(args),
    )
    prepare(args)
    try:
        surface.run(
            create_app(config),
            host=config.host,
            port=config.port,
            started=lambda: announce(args, config, serving=True),
        )
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        raise CommandError(
            f"{config.host}:{config.port} is already in use; "
            "pick another port with --port N (or stop what runs there)"
        ) from None
    return 0


def serve_workers(args: argparse.Namespace) -> int:
    if args.no_workers:
        return 0
    if args.workers is not None:
        return int(args.workers)
    from_env = env_count("RANKION_WORKERS")
    return DEFAULT_WORKERS if from_env is None else from_env


# ---------------------------------------------------------------- worker


def run_worker(args: argparse.Namespace) -> int:
    size = args.concurrency or env_count("RANKION_WORKERS") or DEFAULT_WORKERS
    config = make_config(args, workers=size, **provider_settings(args))
    prepare(args)
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
        announce(args, config, serving=False)
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
    name = args.provider or os.environ.get("RANKION_PROVIDER") or "procedural"
    options = dict(args.provider_option)
    if name == "openai" and "api_key" not in options and not os.environ.get("OPENAI_API_KEY"):
        raise UsageError("the openai provider needs OPENAI_API_KEY in the environment")
    return {"provider": name, "provider_options": options}


def prepare(args: argparse.Namespace) -> None:
    """Logging on stderr (``RANKION_LOG_LEVEL``, default INFO), and a word on the secret."""
    level = os.environ.get("RANKION_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    use_json_if_asked()  # RANKION_LOG_FORMAT=json: one JSON object per line
    if logging.getLogger().level > logging.DEBUG:
        for chatty in QUIET_LOGGERS:
            logging.getLogger(chatty).setLevel(logging.WARNING)
    if shares_no_data_dir(args) and not os.environ.get("RANKION_SECRET"):
        warn(
            "RANKION_SECRET is not set: signed links use a random key that other "
            "processes do not share and that is lost on restart"
        )


def shares_no_data_dir(args: argparse.Namespace) -> bool:
    """True when both URLs are given, so no data dir holds a shared secret key."""
    given = (
        setting(args, "database") or os.environ.get("RANKION_DATABASE_URL"),
        setting(args, "blobs") or os.environ.get("RANKION_BLOBS_URL"),
    )
    return setting(args, "data_dir") is None and all(given)


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
