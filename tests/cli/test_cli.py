"""The ``rankion`` command line in process: parsing, output, exit codes, settings.

The memory backends keep these fast; ``tests/e2e`` runs the installed script for real.
"""

from __future__ import annotations

import json
import os

import pytest

from rankion_cli import build_parser, main
from rankion_server.commands import UsageError
from rankion_server.commands.base import redact
from rankion_server.commands.run import provider_settings, serve_workers, shares_no_data_dir

MEMORY = ["--database", "memory://cli", "--blobs", "memory://cli"]


@pytest.fixture(autouse=True)
def _no_rankion_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No setting of the developer's shell reaches a test: every ``RANKION_*`` goes."""
    for name in [n for n in os.environ if n.startswith("RANKION_")]:
        monkeypatch.delenv(name)


def lines(text: str) -> list[str]:
    return text.strip().splitlines()


@pytest.mark.parametrize(
    "argv",
    [
        ["team", "create", "acme", "--data-dir", "D", "--json"],
        ["--data-dir", "D", "--json", "team", "create", "acme"],
        ["team", "--data-dir", "D", "create", "--json", "acme"],
    ],
)
def test_common_options_may_come_anywhere(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert (args.data_dir, args.json, args.name) == ("D", True, "acme")


def test_an_option_left_out_stays_absent() -> None:
    args = build_parser().parse_args(["--data-dir", "D", "team", "create", "acme"])
    assert args.data_dir == "D"
    assert not hasattr(args, "database")


def test_the_value_made_is_alone_on_the_last_stdout_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["team", "create", "acme", "--credits", "5", *MEMORY]) == 0
    out, err = capsys.readouterr()
    assert lines(out) == ["1"]
    assert "acme" in err


def test_json_is_one_object_on_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "team", "create", "acme", *MEMORY]) == 0
    out, err = capsys.readouterr()
    assert [json.loads(line) for line in lines(out)] == [{"id": 1, "name": "acme", "credits": 0}]
    assert err == ""


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["project", "create", "--team", "ghost", "P", *MEMORY], 1, "'ghost'"),
        (["token", "create", "--team", "7", *MEMORY], 1, "'7'"),
        (["credits", "grant", "--team", "x", "-3", *MEMORY], 1, "team"),
        (["team", "create", " ", *MEMORY], 1, "name"),
        (["team", "create", "a", "--database", "nope://x"], 1, "'nope'"),
        (["team", "create", "a", "--credits", "-1"], 2, "--credits"),
        (["credits", "grant", "--team", "a", "many"], 2, "'many'"),
        (["serve", "--provider-option", "delay"], 2, "KEY=VALUE"),
        (["team"], 2, "ACTION"),
        ([], 2, "COMMAND"),
    ],
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    capsys: pytest.CaptureFixture[str], argv: list[str], code: int, words: str
) -> None:
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert out == ""
    assert len(lines(err)) == 1
    assert words in err


def test_help_and_version_exit_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert main(["team", "create", "--help"]) == 0
    assert "rankion" in capsys.readouterr().out


def test_purge_and_migrate_print_their_result(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["purge", *MEMORY]) == 0
    assert main(["migrate", *MEMORY, "--json"]) == 0
    assert lines(capsys.readouterr().out) == ["0", '{"status":"ok"}']


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["serve"], None, 2),
        (["serve"], "3", 3),
        (["serve", "--workers", "5"], "3", 5),
        (["serve", "--no-workers"], "3", 0),
    ],
)
def test_serve_workers_come_from_the_flag_then_the_environment(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], env: str | None, expected: int
) -> None:
    if env is not None:
        monkeypatch.setenv("RANKION_WORKERS", env)
    assert serve_workers(build_parser().parse_args(argv)) == expected


def test_a_bad_worker_count_in_the_environment_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RANKION_WORKERS", "many")
    with pytest.raises(UsageError, match="RANKION_WORKERS"):
        serve_workers(build_parser().parse_args(["serve"]))


def test_provider_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["worker", "--provider-option", "delay=0.5", "--provider-option", "x=a=b"]
    settings = provider_settings(build_parser().parse_args(argv))
    assert settings == {"provider": "procedural", "provider_options": {"delay": "0.5", "x": "a=b"}}
    monkeypatch.setenv("RANKION_PROVIDER", "openai")
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        provider_settings(build_parser().parse_args(["serve"]))


def test_both_urls_without_a_data_dir_share_no_secret() -> None:
    parse = build_parser().parse_args
    assert shares_no_data_dir(parse(["serve", *MEMORY]))
    assert not shares_no_data_dir(parse(["serve", *MEMORY, "--data-dir", "D"]))
    assert not shares_no_data_dir(parse(["serve", "--database", "sqlite:///x.db"]))


def test_passwords_are_not_printed() -> None:
    assert redact("postgresql+asyncpg://me:s3cret@db/x") == "postgresql+asyncpg://me:***@db/x"
    assert redact("sqlite+aiosqlite:////tmp/x.db") == "sqlite+aiosqlite:////tmp/x.db"


def test_tokens_are_created_listed_and_revoked(
    capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    where = ["--data-dir", str(tmp_path)]
    assert main(["team", "create", "acme", *where]) == 0
    assert main(["token", "create", "--team", "acme", *where]) == 0
    capsys.readouterr()
    argv = ["token", "create", "--team", "acme", "--user", "ann", "--expires-in", "0.5", "--json"]
    assert main([*argv, *where]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["token"].startswith(f"rk_{made['prefix']}_")
    assert made["expires_at"].endswith("Z") and made["last_used_at"] is None
    assert main(["token", "list", "--team", "acme", "--json", *where]) == 0
    listed = json.loads(capsys.readouterr().out)["tokens"]
    assert [(t["id"], t["user"]) for t in listed] == [(1, "admin"), (made["id"], "ann")]
    assert "token" not in listed[0] and made["token"] not in json.dumps(listed)
    assert main(["token", "revoke", str(made["id"]), *where]) == 0
    assert lines(capsys.readouterr().out) == [str(made["id"])]
    assert main(["token", "list", "--team", "acme", *where]) == 0
    out = lines(capsys.readouterr().out)
    assert len(out) == 1 and out[0].startswith("1\t")
    assert main(["token", "revoke", str(made["id"]), *where]) == 1
    assert f"{made['id']}" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "-1", "soon", "nan", "inf", "1e300", "3651"])
def test_a_bad_token_lifetime_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], value: str
) -> None:
    assert main(["token", "create", "--team", "acme", "--expires-in", value, *MEMORY]) == 2
    assert "--expires-in" in capsys.readouterr().err
