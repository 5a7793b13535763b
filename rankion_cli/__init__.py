"""``rankion``: one console script made of the command groups installed packages offer.

A package offers commands through the entry-point group ``rankion.commands``: each entry
is a function that takes a :class:`CommandTree` and adds its subcommands to it. The
server offers the admin commands (``serve``, ``worker``, ``team``, ``migrate`` …), the
client the commands that talk to a server over HTTP (``images``, ``calendar``, ``credits
balance``); neither imports the other, and this package imports neither. A subcommand
sets ``handler`` (``args -> exit code``) with ``set_defaults``.

A malformed command line exits 2 with one line on stderr; an error a handler lets through
exits 1 with one line (``RANKION_DEBUG=1`` shows the traceback); Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import PackageNotFoundError, entry_points, version
from typing import NoReturn, TypeAlias

__all__ = [
    "ENTRY_POINT_GROUP",
    "EXIT_ERROR",
    "EXIT_USAGE",
    "CommandTree",
    "Parser",
    "Register",
    "build_parser",
    "fail",
    "main",
]

#: where installed packages list their command groups
ENTRY_POINT_GROUP = "rankion.commands"
EXIT_ERROR = 1
EXIT_USAGE = 2
DESCRIPTION = (
    "Rankion: serve the API, run job workers, administer teams and credits, "
    "and use a server's gallery and calendar."
)


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


Commands: TypeAlias = "argparse._SubParsersAction[Parser]"


class CommandTree:
    """What a command group adds its subcommands to.

    ``parser`` is the ``rankion`` parser itself (options added to it may come before the
    subcommand; its defaults are suppressed, so a subcommand's default does not overwrite
    them); ``commands`` its subcommands; ``noun`` a subcommand two groups share, such as
    ``credits`` (``grant`` from the server, ``balance`` from the client).
    """

    def __init__(self, parser: Parser) -> None:
        self.parser = parser
        self.commands: Commands = parser.add_subparsers(
            dest="command", metavar="COMMAND", required=True, parser_class=Parser
        )
        self._nouns: dict[str, Commands] = {}

    def noun(self, name: str, help_text: str, parents: Sequence[Parser] = ()) -> Commands:
        """``rankion NAME …``: the parsers of NAME's verbs, made on first use."""
        if name not in self._nouns:
            group = self.commands.add_parser(name, parents=list(parents), help=help_text)
            self._nouns[name] = group.add_subparsers(
                dest="action", metavar="ACTION", required=True, parser_class=Parser
            )
        return self._nouns[name]


#: what an entry of ``rankion.commands`` points at
Register = Callable[[CommandTree], None]


def installed_groups() -> list[Register]:
    """The command groups installed packages offer, in the order of their entry names."""
    found = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)
    return [ep.load() for ep in found]


def build_parser(groups: Iterable[Register] | None = None) -> Parser:
    """The ``rankion`` parser with ``groups`` (default: every installed one)."""
    parser = Parser(prog="rankion", description=DESCRIPTION, argument_default=argparse.SUPPRESS)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    tree = CommandTree(parser)
    for register in installed_groups() if groups is None else groups:
        register(tree)
    return parser


def _version() -> str:
    try:
        return version("rankion")
    except PackageNotFoundError:  # running from a checkout that is not installed
        return "unknown"


def first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "failed"


def fail(message: str, code: int = EXIT_ERROR) -> int:
    """Say what went wrong in one line on stderr; the exit code."""
    print(f"rankion: error: {first_line(message)}", file=sys.stderr, flush=True)
    return code


def parse(argv: Sequence[str] | None) -> argparse.Namespace | int:
    """The parsed command line, or the exit code of ``--help``, ``--version`` or an error."""
    try:
        return build_parser().parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code."""
    args = parse(argv)
    if isinstance(args, int):
        return args
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a CLI answers with one line, not a traceback
        if os.environ.get("RANKION_DEBUG"):
            raise
        detail = first_line(str(exc))
        return fail(f"{type(exc).__name__}: {detail} (RANKION_DEBUG=1 shows the traceback)")
