"""The ``rankion`` command line in process: parsing, output, exit codes, settings.

The memory backends keep these fast; ``tests/e2e`` runs the installed script for real.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from rankion_cli import build_parser, main
from rankion_core.rules.limits import CREDITS_MAX
from rankion_server.commands import UsageError
from rankion_server.commands.base import make_config, redact
from rankion_server.commands.run import prepare, provider_settings, serve_workers

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
        (["serve"], {}, 2),
        (["serve"], {"RANKION_WORKERS": "3"}, 3),
        (["serve", "--workers", "5"], {"RANKION_WORKERS": "3"}, 5),
        (["serve", "--no-workers"], {"RANKION_WORKERS": "3"}, 0),
    ],
)
def test_serve_workers_come_from_the_flag_then_the_environment(
    argv: list[str], env: dict[str, str], expected: int
) -> None:
    args = build_parser().parse_args([*argv, *MEMORY])
    assert make_config(args, env, workers=serve_workers(args)).workers == expected


def test_a_bad_worker_count_in_the_environment_is_a_usage_error() -> None:
    args = build_parser().parse_args(["serve", *MEMORY])
    with pytest.raises(UsageError, match="RANKION_WORKERS"):
        make_config(args, {"RANKION_WORKERS": "many"}, workers=serve_workers(args))


def test_a_bad_setting_exits_2_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RANKION_LEASE_SECONDS", "soon")
    assert main(["team", "list", *MEMORY]) == 2
    err = capsys.readouterr().err
    assert "RANKION_LEASE_SECONDS must be a number of seconds, not 'soon'" in err


def test_provider_settings() -> None:
    argv = ["worker", "--provider-option", "delay=0.5", "--provider-option", "x=a=b"]
    args = build_parser().parse_args([*argv, *MEMORY])
    config = make_config(args, {}, **provider_settings(args))
    assert config.provider == "procedural"
    assert config.provider_options == {"delay": "0.5", "x": "a=b"}
    args = build_parser().parse_args(["serve", *MEMORY])
    config = make_config(args, {"RANKION_PROVIDER": "openai"}, **provider_settings(args))
    assert config.provider == "openai"
    with pytest.raises(UsageError, match="OPENAI_API_KEY"):
        prepare(config, {})


def test_the_openai_models_setting_is_the_providers_models_option() -> None:
    env = {"RANKION_PROVIDER": "openai", "RANKION_OPENAI_MODELS": "gpt-image-1,gpt-image-1.5"}
    args = build_parser().parse_args(["serve", *MEMORY])
    config = make_config(args, env, **provider_settings(args))
    assert config.provider_options == {"models": "gpt-image-1,gpt-image-1.5"}
    argv = ["serve", *MEMORY, "--provider-option", "models=dall-e-3"]
    args = build_parser().parse_args(argv)
    config = make_config(args, env, **provider_settings(args))
    assert config.provider_options == {"models": "dall-e-3"}
    args = build_parser().parse_args(["serve", *MEMORY, "--provider", "procedural"])
    assert make_config(args, env, **provider_settings(args)).provider_options == {}


def test_both_urls_without_a_data_dir_share_no_secret(tmp_path: Path) -> None:
    parse = build_parser().parse_args
    assert make_config(parse(["serve", *MEMORY]), {}).ephemeral_secret
    data_dir = ["--data-dir", str(tmp_path)]
    assert not make_config(parse(["serve", *MEMORY, *data_dir]), {}).ephemeral_secret
    assert not make_config(parse(["serve", *MEMORY]), {"RANKION_SECRET": "s"}).ephemeral_secret
    one_url = ["--database", "sqlite:///x.db", *data_dir]
    assert not make_config(parse(["serve", *one_url]), {}).ephemeral_secret


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


def test_teams_and_projects_are_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--data-dir", str(tmp_path)]  # a memory database lives for one command only
    assert main(["team", "create", "acme", "--credits", "5", *db]) == 0
    assert main(["team", "create", "beta", *db]) == 0
    assert main(["project", "create", "--team", "acme", "Launch", *db]) == 0
    capsys.readouterr()
    assert main(["team", "list", *db]) == 0
    out, err = capsys.readouterr()
    assert lines(out) == ["1\tacme\t5", "2\tbeta\t0"]
    assert "2 teams" in err
    assert main(["team", "list", "--json", *db]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "teams": [{"id": 1, "name": "acme", "credits": 5}, {"id": 2, "name": "beta", "credits": 0}]
    }
    assert main(["project", "list", "--team", "acme", *db]) == 0
    assert lines(capsys.readouterr().out) == ["1\tLaunch\tUTC"]
    assert main(["project", "list", "--team", "2", "--json", *db]) == 0
    assert json.loads(capsys.readouterr().out) == {"team_id": 2, "projects": []}
    assert main(["project", "list", "--team", "ghost", *db]) == 1
    assert main(["project", "list", *db]) == 2  # --team is required


@pytest.mark.parametrize(
    "argv",
    [
        ["team", "list"],
        ["project", "list", "--team", "acme"],
        ["project", "create", "--team", "acme", "P"],
        ["token", "create", "--team", "acme"],
        ["token", "list", "--team", "acme"],
        ["token", "revoke", "1"],
        ["credits", "grant", "--team", "acme", "5"],
        ["purge"],
    ],
)
def test_a_missing_data_dir_is_refused_and_not_made(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    missing = tmp_path / "elsewhere" / "rankion-data"
    assert main([*argv, "--data-dir", str(missing)]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(lines(err)) == 1
    assert f"no data dir at {missing}" in err and "--data-dir" in err
    assert not missing.exists()


@pytest.mark.parametrize("argv", [["team", "create", "acme"], ["migrate"], ["team", "list"]])
def test_a_file_where_the_data_dir_should_be_is_named_in_words(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    in_the_way = tmp_path / "rankion-data"
    in_the_way.write_text("not a folder")
    assert main([*argv, "--data-dir", str(in_the_way)]) == 1
    err = capsys.readouterr().err
    assert len(lines(err)) == 1 and "Errno" not in err, err
    assert str(in_the_way) in err, err
    assert in_the_way.read_text() == "not a folder"


def test_the_default_data_dir_is_refused_where_there_is_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["team", "list"]) == 1
    assert f"no data dir at {tmp_path / 'rankion-data'}" in capsys.readouterr().err
    assert not (tmp_path / "rankion-data").exists()


@pytest.mark.parametrize("argv", [["team", "create", "acme"], ["migrate"]])
def test_setting_up_makes_the_data_dir(tmp_path: Path, argv: list[str]) -> None:
    fresh = tmp_path / "fresh"
    assert main([*argv, "--data-dir", str(fresh)]) == 0
    assert (fresh / "rankion.db").exists()
    assert main(["team", "list", "--data-dir", str(fresh)]) == 0


def test_exit_codes_are_the_documented_three(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """0 done; 1 understood but cannot be done; 2 the command line is wrong."""
    db = ["--data-dir", str(tmp_path)]
    assert main(["team", "create", "acme", *db]) == 0
    assert main(["team", "create", "acme", *db]) == 1  # a duplicate name
    assert main(["credits", "grant", "--team", "acme", "0", *db]) == 1  # not positive
    assert main(["token", "revoke", "999", *db]) == 1  # unknown id
    assert main(["team", "create", "x", "--credits", "-5", *db]) == 2
    assert main(["team", "create", "x", "--credits", "2000000000", *db]) == 2  # the core's cap
    assert main(["credits", "grant", "--team", "acme", "many", *db]) == 2
    assert main(["team", "frobnicate", *db]) == 2
    err = capsys.readouterr().err
    assert sum("error: " in line for line in lines(err)) == 7  # one line per refusal
    assert "must be from 0 to 1000000000, got 2000000000" in err
    assert "Traceback" not in err


BEYOND = str(2**63)  # one past the largest id a database column holds


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["token", "list", "--team", BEYOND], 1),
        (["project", "create", "--team", BEYOND, "P"], 1),
        (["token", "list", "--team", "\u00b2"], 1),  # a digit str.isdigit takes, int() does not
        (["token", "revoke", BEYOND], 2),
        (["team", "create", "rich", "--credits", BEYOND], 2),
        (["team", "create", "rich", "--credits", str(10**13)], 2),  # past the core's cap
        (["credits", "grant", "--team", "acme", BEYOND], 1),
        (["credits", "grant", "--team", "acme", str(2**63 - 1)], 1),
        (["serve", "--port", "99999"], 2),
    ],
)
def test_numbers_past_what_storage_holds_are_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int
) -> None:
    db = ["--data-dir", str(tmp_path)]
    assert main(["team", "create", "acme", "--credits", "5", *db]) == 0
    capsys.readouterr()
    assert main([*argv, *db]) == code
    out, err = capsys.readouterr()
    assert out == "" and len(lines(err)) == 1
    assert "Error:" not in err and "RANKION_DEBUG" not in err  # not an unexpected error
    assert main(["team", "list", *db]) == 0
    assert lines(capsys.readouterr().out) == ["1\tacme\t5"]


def test_grants_stop_at_the_most_credits_a_team_may_hold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--data-dir", str(tmp_path)]
    assert main(["team", "create", "acme", "--credits", str(CREDITS_MAX - 10), *db]) == 0
    assert main(["credits", "grant", "--team", "acme", "10", *db]) == 0
    assert lines(capsys.readouterr().out)[-1] == str(CREDITS_MAX)
    assert main(["credits", "grant", "--team", "acme", "1", *db]) == 1
    assert f"at most {CREDITS_MAX}" in capsys.readouterr().err
    assert main(["team", "list", *db]) == 0
    assert lines(capsys.readouterr().out) == [f"1\tacme\t{CREDITS_MAX}"]


def test_a_server_that_does_not_answer_is_one_plain_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The client commands say where they looked, as a refusal: no type name, no hint at
    a traceback."""
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    assert main(["images", "list", "--url", url, "--token", "rk_x"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(lines(err)) == 1
    assert err.startswith(f"rankion: error: cannot reach {url} (")
    assert f"is the server running at {url}?" in err
    assert "ServerUnreachable" not in err and "RANKION_DEBUG" not in err
