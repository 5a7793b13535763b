"""The admin CLI as a script sees it: last-line values, ``--json``, exit codes."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from .support import Api, CliResult, Server, cli_value, expect, run_cli

pytestmark = pytest.mark.slow


def single_json(result: CliResult) -> dict[str, object]:
    assert result.returncode == 0, result.describe()
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.describe()
    data = json.loads(lines[0])
    assert isinstance(data, dict)
    return data


def refused(result: CliResult, *words: str) -> None:
    """A non-zero exit with one line on stderr that says why, and no traceback."""
    assert result.returncode in (1, 2), result.describe()
    assert "Traceback" not in result.stderr, result.describe()
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, result.describe()
    for word in words:
        assert word in message, result.describe()
    assert result.stdout == "", result.describe()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the module: every CLI call pays for imports, not for a new schema."""
    return tmp_path_factory.mktemp("rankion-cli")


def test_json_output_is_one_object_per_command(data_dir: Path) -> None:
    made = run_cli("team", "create", "acme", "--credits", "7", "--json", data_dir=data_dir)
    team = single_json(made)
    assert team == {"id": team["id"], "name": "acme", "credits": 7}
    made = run_cli("project", "create", "--team", "acme", "Blog", "--json", data_dir=data_dir)
    assert single_json(made)["team_id"] == team["id"]
    token = single_json(run_cli("token", "create", "--team", "acme", "--json", data_dir=data_dir))
    assert str(token["token"]).startswith("rk_")
    grant = run_cli("credits", "grant", "--team", "acme", "3", "--json", data_dir=data_dir)
    assert single_json(grant) == {"team_id": team["id"], "balance": 10}


def test_plain_output_ends_with_what_was_made(data_dir: Path) -> None:
    made = run_cli("--data-dir", str(data_dir), "team", "create", "plain")  # options first
    assert made.returncode == 0, made.describe()
    team = made.last_line
    assert team.isdigit(), made.describe()
    assert cli_value("project", "create", "--team", team, "By id", data_dir=data_dir).isdigit()
    assert cli_value("migrate", data_dir=data_dir) == "ok"
    # `credits grant` and `purge` print theirs in the tests beside the running server


def test_bad_input_exits_non_zero_with_a_one_line_message(data_dir: Path) -> None:
    cli_value("team", "create", "taken", data_dir=data_dir)
    refused(run_cli("team", "create", "taken", data_dir=data_dir), "taken")
    refused(run_cli("project", "create", "--team", "nobody", "X", data_dir=data_dir), "nobody")
    refused(run_cli("credits", "grant", "--team", "taken", "-5", data_dir=data_dir))
    refused(
        run_cli("team", "create", "x", "--database", "nosuch://db", data_dir=data_dir), "nosuch"
    )
    # caught by the parser, before any database is opened
    refused(run_cli("team", "create", "broke", "--credits", "-5", data_dir=data_dir), "--credits")
    refused(run_cli("credits", "grant", "--team", "taken", "lots", data_dir=data_dir), "lots")
    refused(run_cli("team", "create", data_dir=data_dir), "name")


async def test_credits_granted_by_the_cli_reach_the_running_server(
    api: Api, server: Server
) -> None:
    before = expect(await api.get("/v1/credits"), 200).data["balance"]
    team = str(server.tenant.team_id)
    balance = int(cli_value("credits", "grant", "--team", team, "40", data_dir=server.data_dir))
    assert balance >= before + 40
    after = expect(await api.get("/v1/credits"), 200).data["balance"]
    assert after == balance


async def test_purge_runs_beside_the_running_server(api: Api, server: Server) -> None:
    image = expect(await api.post("/v1/generate/image", {"prompt": "to the trash"}), 202).data
    trashed = expect(await api.delete(f"/v1/images/{image['image_id']}"), 200).data
    assert trashed["purge_at"] is not None
    assert cli_value("purge", data_dir=server.data_dir) == "0"  # not due for 30 days
    assert expect(await api.get(f"/v1/images/{image['image_id']}"), 200).data["deleted_at"]


def test_a_port_in_use_says_to_pick_another(data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port), data_dir=data_dir)
    refused(result, f"127.0.0.1:{port}", "in use", "--port")
    assert result.returncode == 1


def test_a_missing_data_dir_is_named_and_not_made(tmp_path: Path) -> None:
    missing = tmp_path / "typo"
    refused(run_cli("team", "list", data_dir=missing), f"no data dir at {missing}")
    assert not missing.exists()
    assert cli_value("team", "create", "first", data_dir=missing).isdigit()
    listed = run_cli("team", "list", data_dir=missing)
    assert listed.returncode == 0 and listed.last_line.split("\t")[1] == "first"
