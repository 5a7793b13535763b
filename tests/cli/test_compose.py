"""``rankion`` is composed of the command groups in the ``rankion.commands`` entry points."""

from __future__ import annotations

import argparse
from importlib.metadata import entry_points

import pytest

from rankion_cli import ENTRY_POINT_GROUP, CommandTree, build_parser, main


def test_the_server_and_the_client_offer_their_commands() -> None:
    names = {ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert {"rankion_server.cli:register", "rankion_client.cli:register"} <= names


def test_two_groups_share_a_noun() -> None:
    args = build_parser().parse_args(["credits", "balance", "--token", "t"])
    assert (args.command, args.action, args.token) == ("credits", "balance", "t")
    args = build_parser().parse_args(["credits", "grant", "--team", "acme", "5"])
    assert (args.action, args.amount) == ("grant", 5)


def _hello(args: argparse.Namespace) -> int:
    print(f"hello {args.name}")
    return 0


def _extra(tree: CommandTree) -> None:
    hello = tree.noun("greet", "greetings").add_parser("hello")
    hello.add_argument("name")
    hello.set_defaults(handler=_hello)


def _broken(args: argparse.Namespace) -> int:
    raise RuntimeError("went wrong\nsecond line")


def test_a_group_of_another_package_alone(capsys: pytest.CaptureFixture[str]) -> None:
    args = build_parser([_extra]).parse_args(["greet", "hello", "you"])
    assert args.handler(args) == 0
    assert capsys.readouterr().out == "hello you\n"
    with pytest.raises(SystemExit):
        build_parser([_extra]).parse_args(["team", "create", "acme"])


def test_an_unexpected_error_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(tree: CommandTree) -> None:
        tree.commands.add_parser("boom").set_defaults(handler=_broken)

    monkeypatch.setattr("rankion_cli.installed_groups", lambda: [broken])
    monkeypatch.delenv("RANKION_DEBUG", raising=False)
    assert main(["boom"]) == 1
    err = capsys.readouterr().err
    assert err == "rankion: error: RuntimeError: went wrong (RANKION_DEBUG=1 shows the traceback)\n"
