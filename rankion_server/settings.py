"""Every setting the product reads from the environment, in one table.

A row names the setting (the ``ServerConfig`` field it fills), its ``RANKION_*``
variable, its type, its default and what it does. The server reads the environment here
and nowhere else: ``read`` turns a mapping of variables into parsed values, and
``ServerConfig.from_env``, which the ``rankion`` commands call, lays the options given on
the command line over them. The client library (``RANKION_URL``, ``RANKION_TOKEN``) and
the ``rankion`` script (``RANKION_DEBUG``) cannot import the server; their rows say
what they read and a test holds them to it. ``docs/settings.md`` is made from the table:
``python -m rankion_server.settings --markdown > docs/settings.md``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from attrs import define

from rankion_core.rules.limits import (
    ACTIVE_EXPORTS_PER_TEAM,
    CALENDAR_EVENTS_PER_TEAM,
    CHAT_SESSIONS_PER_TEAM,
    EXPORT_BYTES_PER_TEAM,
    PENDING_DELIVERIES_PER_TEAM,
    PROJECTS_PER_TEAM,
    REQUESTS_PER_TEAM,
    WEBHOOKS_PER_TEAM,
)
from rankion_core.workers import DELIVERY_LOOPS, EXPORT_LOOPS

__all__ = [
    "ENV_NAMES",
    "SETTINGS",
    "Setting",
    "SettingError",
    "default",
    "markdown",
    "option_help",
    "read",
]

#: who reads a variable
SERVER = "server"  # every server command: serve, worker and the admin commands
RUNNERS = "serve, worker"  # the commands that run jobs or HTTP
CLIENT = "client"  # the client library and the client commands
SCRIPT = "rankion"  # the ``rankion`` script itself


class SettingError(ValueError):
    """A variable's value is not what its setting takes; the message names the variable."""


# ---------------------------------------------------------------- the kinds of value


@define(frozen=True)
class Kind:
    """A type of setting: its name in the docs and how a variable's text becomes a value."""

    name: str
    parse: Callable[[str, str], Any]
    #: surrounding blanks are part of the value (a secret is taken as it is)
    keep_blanks: bool = False


def _text(_: str, raw: str) -> str:
    return raw


def _seconds(variable: str, raw: str) -> float:
    try:
        seconds = float(raw)
    except ValueError:
        raise SettingError(f"{variable} must be a number of seconds, not {raw!r}") from None
    if not 0 < seconds < float("inf"):
        raise SettingError(f"{variable} must be a positive number of seconds, not {raw!r}")
    return seconds


def _whole_number(note: str = "") -> Callable[[str, str], int]:
    def parse(variable: str, raw: str) -> int:
        if not (raw.isascii() and raw.isdigit()):
            raise SettingError(f"{variable} must be a whole number ≥ 0{note}, not {raw!r}")
        return int(raw)

    return parse


def _one_of(words: Sequence[str], *, upper: bool = False) -> Callable[[str, str], str]:
    def parse(variable: str, raw: str) -> str:
        word = raw.upper() if upper else raw.lower()
        if word not in words:
            raise SettingError(f"{variable} must be one of {', '.join(words)}, not {raw!r}")
        return word

    return parse


_YES = ("1", "true", "yes", "on")
_NO = ("0", "false", "no", "off")
_is_flag = _one_of(_YES + _NO)


def _flag(variable: str, raw: str) -> bool:
    return _is_flag(variable, raw) in _YES


_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_FORMATS = ("text", "json")

TEXT = Kind("text", _text)
URL = Kind("URL", _text)
SECRET = Kind("secret", _text, keep_blanks=True)
SECONDS = Kind("seconds > 0", _seconds)
WHOLE = Kind("whole number ≥ 0", _whole_number())
LIMIT = Kind("whole number ≥ 0 (0: off)", _whole_number(" (0 turns the limit off)"))
FLAG = Kind("flag (1/0, true/false, yes/no, on/off)", _flag)
LEVEL = Kind(", ".join(_LEVELS), _one_of(_LEVELS, upper=True))
LOG_FORMAT = Kind(", ".join(_FORMATS), _one_of(_FORMATS))


# ---------------------------------------------------------------- the table


@define(frozen=True)
class Setting:
    #: the ``ServerConfig`` field (or ``ServerConfig.from_env`` option) it fills
    name: str
    #: the environment variable
    env: str
    kind: Kind
    #: the value when the variable is unset (None: none; see ``default_text``)
    default: Any
    doc: str
    #: who reads it: ``SERVER``, ``RUNNERS``, ``CLIENT`` or ``SCRIPT``
    reader: str = RUNNERS
    #: the default in words, where it is not a plain value
    default_text: str | None = None

    def shown_default(self) -> str:
        if self.default_text is not None:
            return self.default_text
        if self.default is None:
            return "unset"
        if isinstance(self.default, bool):
            return "`1`" if self.default else "`0`"
        return f"`{self.default}`"


SETTINGS: tuple[Setting, ...] = (
    # where the data lives
    Setting(
        "data_dir",
        "RANKION_DATA_DIR",
        TEXT,
        "./rankion-data",
        "Home of the SQLite file, the blob folder and the signing key when no URL says "
        "otherwise (`--data-dir`).",
        SERVER,
    ),
    Setting(
        "database",
        "RANKION_DATABASE_URL",
        URL,
        None,
        "The database: `sqlite+aiosqlite:///file.db` or `postgresql+asyncpg://…` (`--database`).",
        SERVER,
        default_text="`DATA_DIR/rankion.db`",
    ),
    Setting(
        "blobs",
        "RANKION_BLOBS_URL",
        URL,
        None,
        "The blob store: a folder, `s3://bucket/prefix` or `memory://name` (`--blobs`).",
        SERVER,
        default_text="`DATA_DIR/blobs`",
    ),
    Setting(
        "s3_endpoint_url",
        "RANKION_S3_ENDPOINT_URL",
        URL,
        None,
        "Where an `s3://` blob store is, for S3-compatible stores other than AWS "
        "(credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`).",
        SERVER,
        default_text="AWS",
    ),
    Setting(
        "secret",
        "RANKION_SECRET",
        SECRET,
        None,
        "The key that signs download links; the same in every process of a deployment.",
        SERVER,
        default_text="`DATA_DIR/secret.key`, made once",
    ),
    # serving
    Setting(
        "public_url",
        "RANKION_PUBLIC_URL",
        URL,
        None,
        "The base of every link the server hands out (`--public-url`).",
        default_text="`http://HOST:PORT`",
    ),
    Setting(
        "metrics_token",
        "RANKION_METRICS_TOKEN",
        SECRET,
        None,
        "When set, `GET /metrics` needs it as a bearer token.",
        default_text="unset: `/metrics` is public",
    ),
    Setting(
        "log_level",
        "RANKION_LOG_LEVEL",
        LEVEL,
        "INFO",
        "The level of the log on stderr.",
    ),
    Setting(
        "log_format",
        "RANKION_LOG_FORMAT",
        LOG_FORMAT,
        "text",
        "`json`: one JSON object a log line.",
    ),
    # images
    Setting(
        "provider",
        "RANKION_PROVIDER",
        TEXT,
        "procedural",
        "The image provider, a `rankion.providers` entry point: `procedural` or `openai` "
        "(`--provider`).",
    ),
    Setting(
        "openai_models",
        "RANKION_OPENAI_MODELS",
        TEXT,
        None,
        "The models the `openai` provider offers, comma-separated (its `models` option wins; "
        "the key comes from `OPENAI_API_KEY`, the address from `OPENAI_BASE_URL`).",
        default_text="`gpt-image-1,gpt-image-1-mini`",
    ),
    Setting(
        "codec",
        "RANKION_CODEC",
        TEXT,
        "pillow",
        "The image codec, a `rankion.codecs` entry point.",
    ),
    # jobs
    Setting(
        "workers",
        "RANKION_WORKERS",
        WHOLE,
        2,
        "Job slots of one process (`serve --workers`, `worker --concurrency`).",
    ),
    Setting(
        "lease_seconds",
        "RANKION_LEASE_SECONDS",
        SECONDS,
        30.0,
        "How long a claimed job is a worker's before another may take it over.",
    ),
    Setting(
        "poll_seconds",
        "RANKION_POLL_SECONDS",
        SECONDS,
        1.0,
        "How often an idle worker looks for work.",
    ),
    Setting(
        "export_workers",
        "RANKION_EXPORT_WORKERS",
        WHOLE,
        EXPORT_LOOPS,
        "Loops of a worker process that build export ZIPs (0: none here).",
    ),
    Setting(
        "webhook_workers",
        "RANKION_WEBHOOK_WORKERS",
        WHOLE,
        DELIVERY_LOOPS,
        "Loops of a worker process that deliver webhooks (0: none here).",
    ),
    # webhooks
    Setting(
        "webhooks_allow_private",
        "RANKION_WEBHOOKS_ALLOW_PRIVATE",
        FLAG,
        False,
        "Let webhooks reach private, loopback and link-local addresses.",
    ),
    Setting(
        "webhook_backoff_seconds",
        "RANKION_WEBHOOK_BACKOFF_SECONDS",
        SECONDS,
        10.0,
        "The first wait before a failed delivery is tried again (it doubles).",
    ),
    Setting(
        "webhook_timeout_seconds",
        "RANKION_WEBHOOK_TIMEOUT_SECONDS",
        SECONDS,
        10.0,
        "The total time of one delivery try: connect, send, answer.",
    ),
    # per-team limits
    Setting(
        "max_active_jobs",
        "RANKION_MAX_ACTIVE_JOBS",
        LIMIT,
        20,
        "Generations and edits one team may have queued or running (`--max-active-jobs`).",
    ),
    Setting(
        "charge_rate",
        "RANKION_CHARGE_RATE",
        LIMIT,
        60,
        "Generate and edit requests per team and minute, per process (`--charge-rate`).",
    ),
    Setting(
        "write_rate",
        "RANKION_WRITE_RATE",
        LIMIT,
        600,
        "Changes (POST, PUT, PATCH, DELETE) per team and minute, per process; a calendar "
        "shift counts one more for each 25 events it reads.",
    ),
    Setting(
        "max_webhooks",
        "RANKION_MAX_WEBHOOKS",
        LIMIT,
        WEBHOOKS_PER_TEAM,
        "Webhooks one team may have.",
    ),
    Setting(
        "max_projects",
        "RANKION_MAX_PROJECTS",
        LIMIT,
        PROJECTS_PER_TEAM,
        "Projects one team may have.",
    ),
    Setting(
        "max_calendar_events",
        "RANKION_MAX_CALENDAR_EVENTS",
        LIMIT,
        CALENDAR_EVENTS_PER_TEAM,
        "Calendar events one team may have, all its projects together.",
    ),
    Setting(
        "max_chat_sessions",
        "RANKION_MAX_CHAT_SESSIONS",
        LIMIT,
        CHAT_SESSIONS_PER_TEAM,
        "Chat sessions one team may have (a session goes when its image is deleted for good).",
    ),
    Setting(
        "max_active_exports",
        "RANKION_MAX_ACTIVE_EXPORTS",
        LIMIT,
        ACTIVE_EXPORTS_PER_TEAM,
        "Exports one team may have queued or running.",
    ),
    Setting(
        "max_export_bytes",
        "RANKION_MAX_EXPORT_BYTES",
        LIMIT,
        EXPORT_BYTES_PER_TEAM,
        "Bytes of export ZIPs one team may have kept for download (each for 24 h); past it"
        " a new export is refused until the first of them is deleted.",
    ),
    Setting(
        "max_pending_deliveries",
        "RANKION_MAX_PENDING_DELIVERIES",
        LIMIT,
        PENDING_DELIVERIES_PER_TEAM,
        "Webhook deliveries one team may have waiting; past it an event's deliveries are"
        " dropped (and logged), not sent.",
    ),
    Setting(
        "max_streams_per_team",
        "RANKION_MAX_STREAMS_PER_TEAM",
        LIMIT,
        20,
        "Open job event streams per team, per process.",
    ),
    Setting(
        "max_requests_per_team",
        "RANKION_MAX_REQUESTS_PER_TEAM",
        LIMIT,
        REQUESTS_PER_TEAM,
        "Requests of one team answered at once, per process (event streams apart); 16 times"
        " as many wait for one of them to end, up to 10 s each, then 429. Keep it below the"
        " database pool's size (10).",
    ),
    Setting(
        "share_link_seconds",
        "RANKION_SHARE_LINK_SECONDS",
        SECONDS,
        60.0,
        "How long a signed image link embedded in a share page works (at most; at least half).",
    ),
    # outside the server
    Setting(
        "url",
        "RANKION_URL",
        URL,
        "http://127.0.0.1:8080",
        "The server the client library and the client commands talk to (`--url`).",
        CLIENT,
    ),
    Setting(
        "token",
        "RANKION_TOKEN",
        SECRET,
        None,
        "The API token of the client library and the client commands (`--token`).",
        CLIENT,
    ),
    Setting(
        "debug",
        "RANKION_DEBUG",
        TEXT,
        None,
        "Any value: an unexpected error in a `rankion` command shows its traceback.",
        SCRIPT,
    ),
)

BY_NAME: Mapping[str, Setting] = {s.name: s for s in SETTINGS}
#: every variable of the table
ENV_NAMES: frozenset[str] = frozenset(s.env for s in SETTINGS)
#: the rows the server reads (the client's and the script's are read where they live)
SERVER_SETTINGS = tuple(s for s in SETTINGS if s.reader in (SERVER, RUNNERS))


def default(name: str) -> Any:
    """The default of the setting ``name``: ``ServerConfig``'s fields take theirs here."""
    return BY_NAME[name].default


def option_help(name: str, what: str) -> str:
    """A command-line option's help: ``what``, then the setting's default and variable."""
    setting = BY_NAME[name]
    shown = setting.shown_default().replace("`", "")
    return f"{what} (default {shown}; env {setting.env})"


def read(environ: Mapping[str, str]) -> dict[str, Any]:
    """The server settings ``environ`` sets, parsed, by name; unset (or blank) ones are
    left out. A value a setting does not take is a ``SettingError`` naming its variable."""
    values: dict[str, Any] = {}
    for setting in SERVER_SETTINGS:
        raw = environ.get(setting.env, "")
        text = raw if setting.kind.keep_blanks else raw.strip()
        if text.strip():
            values[setting.name] = setting.kind.parse(setting.env, text)
    return values


# ---------------------------------------------------------------- the document

READERS = {
    SERVER: "every server command",
    RUNNERS: "`serve`, `worker`",
    CLIENT: "the client",
    SCRIPT: "`rankion`",
}

HEADER = """\
# Settings

Every setting Rankion reads from the environment. Options on the command line win over
these (see [cli.md](cli.md)); an unset or blank variable means the default. A value a
setting does not take stops the command with a message that names the variable.

This page is generated from the table in `rankion_server/settings.py`
(`python -m rankion_server.settings --markdown > docs/settings.md`); a test checks that
it is up to date.

| Variable | Type | Default | Read by | What it does |
| --- | --- | --- | --- | --- |
"""


def markdown() -> str:
    """``docs/settings.md``: the table as a page."""
    rows = [
        f"| `{s.env}` | {s.kind.name} | {s.shown_default()} | {READERS[s.reader]} | {s.doc} |"
        for s in SETTINGS
    ]
    return HEADER + "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rankion_server.settings")
    parser.add_argument("--markdown", action="store_true", help="print docs/settings.md")
    args = parser.parse_args(argv)
    if args.markdown:
        sys.stdout.write(markdown())
    else:
        for setting in SETTINGS:
            sys.stdout.write(f"{setting.env}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
