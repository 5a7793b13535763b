"""Server configuration: one attrs class, filled from CLI options and environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from attrs import define, field

from rankion_core.errors import Invalid
from rankion_core.rules.limits import ACTIVE_EXPORTS_PER_TEAM, WEBHOOKS_PER_TEAM
from rankion_core.workers import DELIVERY_LOOPS, EXPORT_LOOPS

DEFAULT_DATA_DIR = "./rankion-data"
#: timing settings read from the environment when no option gives them
TIMING_ENV = {"lease_seconds": "RANKION_LEASE_SECONDS", "poll_seconds": "RANKION_POLL_SECONDS"}
TIMING_ENV["webhook_backoff_seconds"] = "RANKION_WEBHOOK_BACKOFF_SECONDS"
TIMING_ENV["webhook_timeout_seconds"] = "RANKION_WEBHOOK_TIMEOUT_SECONDS"
#: abuse limits read from the environment when no option gives them (0 turns one off)
LIMIT_ENV = {
    "max_active_jobs": "RANKION_MAX_ACTIVE_JOBS",
    "charge_rate": "RANKION_CHARGE_RATE",
    "max_webhooks": "RANKION_MAX_WEBHOOKS",
    "max_active_exports": "RANKION_MAX_ACTIVE_EXPORTS",
    "max_streams_per_team": "RANKION_MAX_STREAMS_PER_TEAM",
    # loops of the export and delivery lanes per worker process (0: none here)
    "export_workers": "RANKION_EXPORT_WORKERS",
    "webhook_workers": "RANKION_WEBHOOK_WORKERS",
}
TIMING_ENV["share_link_seconds"] = "RANKION_SHARE_LINK_SECONDS"


def _data_urls(data_dir: str) -> tuple[str, str]:
    root = Path(data_dir).resolve()
    return f"sqlite+aiosqlite:///{root / 'rankion.db'}", str(root / "blobs")


class NoDataDir(FileNotFoundError):
    """The data dir a command reads does not exist: it names the path it looked at."""

    def __init__(self, directory: str) -> None:
        path = Path(directory).resolve()
        super().__init__(
            f"no data dir at {path}: run the command where the data lives, or give "
            "--data-dir (`rankion team create`, `migrate` and `serve` make a new one)"
        )
        self.path = path


def load_secret(data_dir: str | None) -> bytes:
    """``RANKION_SECRET``, else a random key kept in the data dir (made once).

    Every process of one deployment must share it: it signs blob and export URLs.
    """
    env = os.environ.get("RANKION_SECRET")
    if env:
        return env.encode()
    if data_dir is None:
        return secrets.token_bytes(32)
    path = Path(data_dir) / "secret.key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def env_seconds(name: str) -> float | None:
    """A positive number of seconds from the environment, or None when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        raise Invalid(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 < seconds < float("inf"):
        raise Invalid(f"{name} must be a positive number of seconds, not {raw!r}")
    return seconds


def env_limit(name: str) -> int | None:
    """A whole number ≥ 0 from the environment, or None when unset."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise Invalid(f"{name} must be a whole number ≥ 0 (0 turns the limit off), not {raw!r}")
    return int(raw)


def _allow_private_from_env() -> bool:
    """``RANKION_WEBHOOKS_ALLOW_PRIVATE=1`` lets webhooks reach private addresses."""
    return os.environ.get("RANKION_WEBHOOKS_ALLOW_PRIVATE", "").strip() in ("1", "true", "yes")


def _metrics_token_from_env() -> str | None:
    """``RANKION_METRICS_TOKEN``: when set, ``/metrics`` needs it as a bearer token."""
    return os.environ.get("RANKION_METRICS_TOKEN", "").strip() or None


@define
class ServerConfig:
    database_url: str
    blobs_url: str
    secret: bytes = field(repr=False)
    provider: str = "procedural"
    provider_options: dict[str, str] = field(factory=dict)
    #: the image codec, a ``rankion.codecs`` entry point (``RANKION_CODEC``)
    codec: str = "pillow"
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    #: job slots run by this process (0: serve only, as ``serve --no-workers``)
    workers: int = 2
    lease_seconds: float = 30.0
    poll_seconds: float = 1.0
    purge_interval_seconds: float = 3600.0
    max_body_bytes: int = 1 << 20
    migrate: bool = True
    #: bearer token ``/metrics`` needs (None: public; see docs/operations.md)
    metrics_token: str | None = field(factory=_metrics_token_from_env, repr=False)
    # webhooks and live job events (see docs/webhooks.md)
    webhooks_allow_private: bool = field(factory=_allow_private_from_env)
    webhook_backoff_seconds: float = 10.0
    #: total time of one delivery attempt (connect, send, answer)
    webhook_timeout_seconds: float = 10.0
    #: loops of this process that run exports / webhook deliveries, apart from image
    #: work (only in a process that runs jobs; see docs/security.md)
    export_workers: int = EXPORT_LOOPS
    webhook_workers: int = DELIVERY_LOOPS
    events_poll_seconds: float = 0.25
    events_keepalive_seconds: float = 15.0
    events_timeout_seconds: float = 900.0
    #: generate/edit jobs one team may have queued or running at once (0: no limit)
    max_active_jobs: int = 20
    #: generate/edit requests per team and minute, per process (0: no limit)
    charge_rate: int = 60
    #: webhooks one team may have (0: no limit)
    max_webhooks: int = WEBHOOKS_PER_TEAM
    #: exports one team may have queued or running at once (0: no limit)
    max_active_exports: int = ACTIVE_EXPORTS_PER_TEAM
    #: open job event streams per team, per process (0: no limit)
    max_streams_per_team: int = 20
    #: how long a signed image link embedded in a share page works (at most; ≥ half)
    share_link_seconds: float = 60.0

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_options(
        cls,
        *,
        database: str | None = None,
        blobs: str | None = None,
        data_dir: str | None = None,
        create_dir: bool = True,
        **overrides: object,
    ) -> ServerConfig:
        """Explicit options win, then ``RANKION_DATABASE_URL`` / ``RANKION_BLOBS_URL``,
        then the data dir (default ``./rankion-data``: SQLite file and blob folder).
        ``RANKION_LEASE_SECONDS`` and ``RANKION_POLL_SECONDS`` set the job lease and
        the workers' poll interval unless an override gives them; likewise the
        per-team limits of ``LIMIT_ENV`` (``RANKION_MAX_ACTIVE_JOBS``, …) and
        ``RANKION_SHARE_LINK_SECONDS`` the life of links embedded in share pages, and
        ``RANKION_CODEC`` the image codec. A data dir that is used and missing is made,
        unless ``create_dir`` is false: then it is ``NoDataDir``."""
        database = database or os.environ.get("RANKION_DATABASE_URL")
        blobs = blobs or os.environ.get("RANKION_BLOBS_URL")
        uses_dir = data_dir is not None or database is None or blobs is None
        directory = data_dir or os.environ.get("RANKION_DATA_DIR") or DEFAULT_DATA_DIR
        default_db, default_blobs = _data_urls(directory)
        if uses_dir and not create_dir and not Path(directory).is_dir():
            raise NoDataDir(directory)
        if uses_dir:
            Path(directory).mkdir(parents=True, exist_ok=True)
        public_url = overrides.pop("public_url", None) or os.environ.get("RANKION_PUBLIC_URL")
        codec = os.environ.get("RANKION_CODEC", "").strip()
        if codec and "codec" not in overrides:
            overrides["codec"] = codec
        for option, variable in TIMING_ENV.items():
            seconds = env_seconds(variable)
            if option not in overrides and seconds is not None:
                overrides[option] = seconds
        for option, variable in LIMIT_ENV.items():
            limit = env_limit(variable)
            if overrides.get(option) is None and limit is not None:
                overrides[option] = limit
        for option in LIMIT_ENV:
            if overrides.get(option, 0) is None:
                del overrides[option]  # not given: the default
        return cls(
            database_url=database or default_db,
            blobs_url=blobs or default_blobs,
            secret=load_secret(directory if uses_dir else None),
            public_url=public_url,  # type: ignore[arg-type]
            **overrides,  # type: ignore[arg-type]
        )
