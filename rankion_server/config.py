"""Server configuration: one attrs class, filled from options and the settings table.

The defaults and the environment variables are those of ``settings.SETTINGS``;
``ServerConfig.from_env`` is how the ``rankion`` commands read them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import define, field

from . import settings
from .settings import default

DEFAULT_DATA_DIR: str = default("data_dir")


def _data_urls(data_dir: str) -> tuple[str, str]:
    root = Path(data_dir).resolve()
    return f"sqlite+aiosqlite:///{root / 'rankion.db'}", str(root / "blobs")


class DataDirUnusable(OSError):
    """The data dir cannot be made or used: it names the path and why, in words."""

    def __init__(self, directory: str, why: str) -> None:
        super().__init__(f"cannot use {Path(directory).resolve()} as the data dir: {why}")


def _make_data_dir(directory: str) -> None:
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise DataDirUnusable(directory, "a file is in the way (it must be a folder)") from None
    except OSError as exc:
        raise DataDirUnusable(directory, (exc.strerror or str(exc)).lower()) from None


class NoDataDir(FileNotFoundError):
    """The data dir a command reads does not exist: it names the path it looked at."""

    def __init__(self, directory: str) -> None:
        path = Path(directory).resolve()
        super().__init__(
            f"no data dir at {path}: run the command where the data lives, or give "
            "--data-dir (`rankion team create`, `migrate` and `serve` make a new one)"
        )
        self.path = path


def load_secret(data_dir: str) -> bytes:
    """The random key kept in the data dir (made once), which signs blob and export URLs."""
    path = Path(data_dir) / "secret.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


@define
class ServerConfig:
    """What one server or worker process runs with. A field with a ``RANKION_*``
    variable takes its default from the settings table (docs/settings.md)."""

    database_url: str
    blobs_url: str
    secret: bytes = field(repr=False)
    provider: str = default("provider")
    provider_options: dict[str, str] = field(factory=dict)
    #: the image codec, a ``rankion.codecs`` entry point
    codec: str = default("codec")
    #: where an ``s3://`` blob store is, when it is not AWS
    s3_endpoint_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    #: job slots run by this process (0: serve only, as ``serve --no-workers``)
    workers: int = default("workers")
    lease_seconds: float = default("lease_seconds")
    poll_seconds: float = default("poll_seconds")
    purge_interval_seconds: float = 3600.0
    max_body_bytes: int = 1 << 20
    migrate: bool = True
    #: bearer token ``/metrics`` needs (None: public; see docs/operations.md)
    metrics_token: str | None = field(default=None, repr=False)
    log_level: str = default("log_level")
    #: ``text`` or ``json`` (one JSON object a line)
    log_format: str = default("log_format")
    #: the secret was made for this process alone: links it signs die with it
    ephemeral_secret: bool = False
    # webhooks and live job events (see docs/webhooks.md)
    webhooks_allow_private: bool = default("webhooks_allow_private")
    webhook_backoff_seconds: float = default("webhook_backoff_seconds")
    #: total time of one delivery attempt (connect, send, answer)
    webhook_timeout_seconds: float = default("webhook_timeout_seconds")
    #: loops of this process that run exports / webhook deliveries, apart from image
    #: work (only in a process that runs jobs; see docs/security.md)
    export_workers: int = default("export_workers")
    webhook_workers: int = default("webhook_workers")
    events_poll_seconds: float = 0.25
    events_keepalive_seconds: float = 15.0
    events_timeout_seconds: float = 900.0
    #: generate/edit jobs one team may have queued or running at once (0: no limit)
    max_active_jobs: int = default("max_active_jobs")
    #: generate/edit requests per team and minute, per process (0: no limit)
    charge_rate: int = default("charge_rate")
    #: changes per team and minute, per process (0: no limit)
    write_rate: int = default("write_rate")
    #: webhooks one team may have (0: no limit)
    max_webhooks: int = default("max_webhooks")
    #: projects, calendar events (all its projects together) and chat sessions one
    #: team may have (0: no limit)
    max_projects: int = default("max_projects")
    max_calendar_events: int = default("max_calendar_events")
    max_chat_sessions: int = default("max_chat_sessions")
    #: exports one team may have queued or running at once (0: no limit)
    max_active_exports: int = default("max_active_exports")
    #: bytes of export ZIPs one team may have kept for download (0: no limit)
    max_export_bytes: int = default("max_export_bytes")
    #: webhook deliveries one team may have waiting; past it an event's are dropped
    #: and logged (0: no limit)
    max_pending_deliveries: int = default("max_pending_deliveries")
    #: open job event streams per team, per process (0: no limit)
    max_streams_per_team: int = default("max_streams_per_team")
    #: requests of one team answered at once, per process (0: no limit)
    max_requests_per_team: int = default("max_requests_per_team")
    #: how long a signed image link embedded in a share page works (at most; ≥ half)
    share_link_seconds: float = default("share_link_seconds")

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str], *, create_dir: bool = True, **options: Any
    ) -> ServerConfig:
        """The options given (those that are not None) over the settings ``environ``
        sets (``settings.read``) over the table's defaults; then as ``from_options``.
        The ``rankion`` commands call it with the process's environment."""
        given = {name: value for name, value in options.items() if value is not None}
        return cls.from_options(create_dir=create_dir, **{**settings.read(environ), **given})

    @classmethod
    def from_options(
        cls,
        *,
        database: str | None = None,
        blobs: str | None = None,
        data_dir: str | None = None,
        create_dir: bool = True,
        secret: str | bytes | None = None,
        openai_models: str | None = None,
        **overrides: Any,
    ) -> ServerConfig:
        """A configuration from options alone (the environment is ``from_env``'s).

        ``database`` and ``blobs`` default to a SQLite file and a blob folder in the
        data dir (default ``./rankion-data``); a data dir that is used and missing is
        made, unless ``create_dir`` is false: then it is ``NoDataDir``. Without
        ``secret`` the key is the data dir's ``secret.key``, or, when both URLs are
        given and no data dir, a random one (``ephemeral_secret``). ``openai_models``
        is the ``openai`` provider's ``models`` unless its options name them. An
        override that is None leaves the field's default."""
        uses_dir = data_dir is not None or database is None or blobs is None
        directory = data_dir or DEFAULT_DATA_DIR
        default_db, default_blobs = _data_urls(directory)
        if uses_dir and not create_dir and not Path(directory).is_dir():
            raise NoDataDir(directory)
        if uses_dir:
            _make_data_dir(directory)
        fields = {name: value for name, value in overrides.items() if value is not None}
        if secret:
            key = secret.encode() if isinstance(secret, str) else secret
        elif uses_dir:
            key = load_secret(directory)
        else:
            key, fields["ephemeral_secret"] = secrets.token_bytes(32), True
        if openai_models and fields.get("provider") == "openai":
            options = fields.get("provider_options", {})
            fields["provider_options"] = {"models": openai_models, **options}
        return cls(
            database_url=database or default_db,
            blobs_url=blobs or default_blobs,
            secret=key,
            **fields,
        )
