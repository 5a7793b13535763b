"""The settings table: the only reader of the server's environment, and the source of
docs/settings.md."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from rankion_server import settings
from rankion_server.config import ServerConfig
from rankion_server.settings import CLIENT, SCRIPT, SETTINGS, SettingError

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = [
    *sorted(ROOT.glob("rankion_*/**/*.py")),
    *sorted((ROOT / "backends").glob("rankion_*/**/*.py")),
]
PROSE = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NAME = re.compile(r"RANKION_[A-Z0-9_]*[A-Z0-9]")
#: a line that reads a variable by its name: ``environ.get("RANKION_…")``, ``getenv(…)``
READ = re.compile(r"(environ|getenv)\b[^\n]*[\"']RANKION_")
#: the packages that cannot import the server, and the rows they read themselves
READERS_OUTSIDE = {
    ROOT / "rankion_client" / "client.py": CLIENT,
    ROOT / "rankion_cli" / "__init__.py": SCRIPT,
}
HERE = ROOT / "rankion_server" / "settings.py"


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_committed_page_is_the_generated_one() -> None:
    page = (ROOT / "docs" / "settings.md").read_text()
    assert page == settings.markdown(), (
        "docs/settings.md is stale: python -m rankion_server.settings --markdown > docs/settings.md"
    )


def test_the_page_is_what_the_command_prints() -> None:
    run = [sys.executable, "-m", "rankion_server.settings", "--markdown"]
    printed = subprocess.run(run, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert printed == settings.markdown()


def test_every_variable_is_one_row() -> None:
    names = [s.env for s in SETTINGS]
    assert len(set(names)) == len(names)
    assert len({s.name for s in SETTINGS}) == len(SETTINGS)
    assert all(NAME.fullmatch(name) for name in names)


def test_no_module_but_the_table_reads_a_server_setting() -> None:
    found = {
        f"{rel(path)}:{number}: {line.strip()}"
        for path in PRODUCT
        if path != HERE and path not in READERS_OUTSIDE
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if READ.search(line)
    }
    assert not found, "read RANKION_* variables through rankion_server.settings"


def test_the_client_and_the_script_read_just_their_rows() -> None:
    for path, reader in READERS_OUTSIDE.items():
        read = {
            name
            for line in path.read_text().splitlines()
            if READ.search(line)
            for name in NAME.findall(line)
        }
        assert read == {s.env for s in SETTINGS if s.reader == reader}, rel(path)


def test_every_variable_named_in_code_and_docs_is_in_the_table() -> None:
    named = {
        f"{rel(path)}: {name}"
        for path in [*PRODUCT, *PROSE]
        for name in NAME.findall(path.read_text())
        if name not in settings.ENV_NAMES
    }
    assert not named, "add the setting to rankion_server/settings.py (or fix the name)"


def test_the_server_touches_the_environment_only_through_the_table() -> None:
    """Besides the table, the commands hand ``os.environ`` over (and the openai check
    reads ``OPENAI_API_KEY``); nothing else of the server looks at the environment."""
    touching = {
        rel(path)
        for path in sorted((ROOT / "rankion_server").rglob("*.py"))
        if re.search(r"\bos\.environ\b|\bgetenv\b", path.read_text())
    }
    assert touching <= {"rankion_server/settings.py", "rankion_server/commands/run.py"}


def test_config_defaults_are_the_tables() -> None:
    config = ServerConfig(database_url="memory://", blobs_url="memory://x", secret=b"k")
    checked = [
        field.name
        for field in attrs.fields(ServerConfig)
        if field.name in settings.BY_NAME and field.default is not attrs.NOTHING
    ]
    for name in checked:
        assert getattr(config, name) == settings.default(name), name
    options_only = {"data_dir", "database", "blobs", "secret", "openai_models"}
    assert set(checked) == {s.name for s in settings.SERVER_SETTINGS} - options_only


def test_every_server_setting_reaches_the_config() -> None:
    """A value for each server variable arrives in ``ServerConfig`` (a row nothing reads
    would be a lie in the docs)."""
    samples = {
        "RANKION_DATA_DIR": "dir",
        "RANKION_DATABASE_URL": "memory://db",
        "RANKION_BLOBS_URL": "memory://blobs",
        "RANKION_S3_ENDPOINT_URL": "http://s3.example",
        "RANKION_SECRET": " s e c r e t ",
        "RANKION_PUBLIC_URL": "https://example.com",
        "RANKION_METRICS_TOKEN": "m",
        "RANKION_LOG_LEVEL": "debug",
        "RANKION_LOG_FORMAT": "json",
        "RANKION_PROVIDER": "openai",
        "RANKION_OPENAI_MODELS": "a,b",
        "RANKION_CODEC": "other",
        "RANKION_WORKERS": "5",
        "RANKION_LEASE_SECONDS": "31",
        "RANKION_POLL_SECONDS": "0.5",
        "RANKION_EXPORT_WORKERS": "0",
        "RANKION_WEBHOOK_WORKERS": "9",
        "RANKION_WEBHOOKS_ALLOW_PRIVATE": "yes",
        "RANKION_WEBHOOK_BACKOFF_SECONDS": "0.2",
        "RANKION_WEBHOOK_TIMEOUT_SECONDS": "3",
        "RANKION_MAX_ACTIVE_JOBS": "1",
        "RANKION_MAX_WEBHOOKS": "2",
        "RANKION_CHARGE_RATE": "3",
        "RANKION_MAX_ACTIVE_EXPORTS": "4",
        "RANKION_MAX_PENDING_DELIVERIES": "8",
        "RANKION_MAX_EXPORT_BYTES": "10",
        "RANKION_MAX_STREAMS_PER_TEAM": "6",
        "RANKION_MAX_REQUESTS_PER_TEAM": "15",
        "RANKION_SHARE_LINK_SECONDS": "7",
        "RANKION_WRITE_RATE": "11",
        "RANKION_MAX_PROJECTS": "12",
        "RANKION_MAX_CALENDAR_EVENTS": "13",
        "RANKION_MAX_CHAT_SESSIONS": "14",
    }
    assert set(samples) == {s.env for s in settings.SERVER_SETTINGS}
    config = ServerConfig.from_env(samples)
    assert (config.database_url, config.blobs_url) == ("memory://db", "memory://blobs")
    assert config.secret == b" s e c r e t "  # taken as it is
    assert (config.s3_endpoint_url, config.public_url) == (
        "http://s3.example",
        "https://example.com",
    )
    assert (config.metrics_token, config.log_level, config.log_format) == ("m", "DEBUG", "json")
    assert (config.provider, config.provider_options) == ("openai", {"models": "a,b"})
    assert config.codec == "other"
    assert (config.workers, config.lease_seconds, config.poll_seconds) == (5, 31.0, 0.5)
    assert (config.export_workers, config.webhook_workers) == (0, 9)
    assert config.webhooks_allow_private is True
    assert (config.webhook_backoff_seconds, config.webhook_timeout_seconds) == (0.2, 3.0)
    limits = (config.max_active_jobs, config.max_webhooks, config.charge_rate)
    assert limits == (1, 2, 3)
    assert (config.max_active_exports, config.max_streams_per_team) == (4, 6)
    assert (config.max_pending_deliveries, config.max_export_bytes) == (8, 10)
    assert config.share_link_seconds == 7.0
    assert config.write_rate == 11
    assert config.max_requests_per_team == 15
    counts = (config.max_projects, config.max_calendar_events, config.max_chat_sessions)
    assert counts == (12, 13, 14)


def test_the_data_dir_setting_places_the_data(tmp_path: Path) -> None:
    config = ServerConfig.from_env({"RANKION_DATA_DIR": str(tmp_path / "d")})
    assert config.database_url == f"sqlite+aiosqlite:///{tmp_path / 'd' / 'rankion.db'}"
    assert config.blobs_url == str(tmp_path / "d" / "blobs")
    assert (tmp_path / "d" / "secret.key").is_file()


def test_options_win_and_blank_variables_are_unset() -> None:
    env = {"RANKION_WORKERS": "  ", "RANKION_POLL_SECONDS": "3", "RANKION_SECRET": "k"}
    urls = {"database": "memory://", "blobs": "memory://x"}
    config = ServerConfig.from_env(env, poll_seconds=0.25, **urls)
    assert (config.workers, config.poll_seconds) == (2, 0.25)
    assert ServerConfig.from_env(env, poll_seconds=None, **urls).poll_seconds == 3.0


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("RANKION_LEASE_SECONDS", "0", "must be a positive number of seconds"),
        ("RANKION_POLL_SECONDS", "inf", "must be a positive number of seconds"),
        ("RANKION_POLL_SECONDS", "soon", "must be a number of seconds"),
        ("RANKION_WORKERS", "-1", "must be a whole number ≥ 0"),
        ("RANKION_MAX_WEBHOOKS", "2.5", r"must be a whole number ≥ 0 \(0 turns the limit off\)"),
        ("RANKION_WEBHOOKS_ALLOW_PRIVATE", "maybe", "must be one of 1, true"),
        ("RANKION_LOG_LEVEL", "loud", "must be one of DEBUG, INFO"),
    ],
)
def test_a_malformed_value_names_its_variable(variable: str, value: str, message: str) -> None:
    with pytest.raises(SettingError, match=f"^{variable} {message}"):
        settings.read({variable: value})
