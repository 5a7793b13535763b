"""The server's ``rankion`` commands — serve, run workers, and administer teams.

``register`` adds them to the ``rankion`` script (``rankion_cli``), which finds it through
the entry-point group ``rankion.commands``.

Every command takes ``--database URL`` / ``--blobs URL`` (or ``RANKION_DATABASE_URL`` /
``RANKION_BLOBS_URL``) or ``--data-dir DIR`` (default ``./rankion-data``), and
``--json``; options may follow the subcommand. What a command creates is printed alone
on the last line of stdout (``--json``: one JSON object on one line); notes for people
go to stderr. Bad input exits 1 (2 for a malformed command line) with a one-line
message, never a traceback (``RANKION_DEBUG=1`` shows it). What each command does
lives in ``rankion_server.commands``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import timedelta
from functools import partial

from rankion_cli import EXIT_USAGE, Commands, CommandTree, Parser, fail
from rankion_core import RankionError
from rankion_core.rules.limits import CREDITS_MAX, ID_MAX, TOKEN_LIFETIME_MAX

from . import commands as cmd
from .settings import option_help

__all__ = ["register"]

#: the longest token lifetime ``--expires-in`` takes
MAX_DAYS = TOKEN_LIFETIME_MAX.days


# ---------------------------------------------------------------- value types


def non_negative(text: str) -> int:
    return _bounded_int(text, low=0)


def positive(text: str) -> int:
    return _bounded_int(text, low=1)


def credits(text: str) -> int:
    """A team's credits, as the core takes them (``CREDITS_MAX``)."""
    return _bounded_int(text, low=0, high=CREDITS_MAX)


def port(text: str) -> int:
    return _bounded_int(text, low=0, high=65535)


def _bounded_int(text: str, *, low: int, high: int = ID_MAX) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not low <= number <= high:
        raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {number}")
    return number


def days(text: str) -> timedelta:
    """A positive number of days, fractions allowed (``0.5`` is twelve hours)."""
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of days") from None
    if not 0 < number <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be more than 0 and at most {MAX_DAYS}, got {text}")
    return timedelta(days=number)


def key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), value


# ---------------------------------------------------------------- shared options


def common_options() -> Parser:
    """Options every command takes, before or after the subcommand.

    Defaults are suppressed, so a value given before the subcommand is not
    overwritten by the subcommand's default (``commands.base.setting`` reads them).
    """
    common = Parser(add_help=False, argument_default=argparse.SUPPRESS)
    add_common_options(common)
    return common


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """``--database``, ``--blobs``, ``--data-dir`` and ``--json`` on ``parser``."""
    common = parser
    where = common.add_argument_group("where the data lives")
    where.add_argument("--database", metavar="URL", help=option_help("database", "database URL"))
    where.add_argument("--blobs", metavar="URL", help=option_help("blobs", "blob store URL"))
    where.add_argument(
        "--data-dir", metavar="DIR", help=option_help("data_dir", "SQLite file and blob folder")
    )
    common.add_argument("--json", action="store_true", help="print one JSON object on one line")


def provider_options() -> Parser:
    provider = Parser(add_help=False)
    provider.add_argument(
        "--provider", metavar="NAME", help=option_help("provider", "procedural or openai")
    )
    provider.add_argument(
        "--provider-option",
        metavar="KEY=VALUE",
        type=key_value,
        action="append",
        default=[],
        help="an option for the provider, e.g. delay=0.5 (repeatable)",
    )
    return provider


# ---------------------------------------------------------------- the command tree


def register(tree: CommandTree) -> None:
    """The server's commands, and the options they share also before the subcommand."""
    add_common_options(tree.parser)
    common = common_options()
    commands = tree.commands
    _add_serve(commands, common)
    _add_worker(commands, common)
    _add_team(tree, common)
    _add_project(tree, common)
    _add_token(tree, common)
    _add_credits(tree, common)
    _add_simple(commands, common, "purge", cmd.purge, "hard-delete what is due in the trash")
    _add_simple(commands, common, "migrate", cmd.migrate, "bring the database schema up to date")


def _add_serve(commands: Commands, common: Parser) -> None:
    serve = commands.add_parser(
        "serve",
        parents=[common, provider_options()],
        help="run the HTTP server, its job workers and the periodic purge",
    )
    serve.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    serve.add_argument("--port", type=port, default=8080, help="default 8080")
    public_url = option_help("public_url", "base of links")
    serve.add_argument("--public-url", metavar="URL", help=public_url)
    slots = serve.add_mutually_exclusive_group()
    slots.add_argument(
        "--workers", metavar="N", type=non_negative, help=option_help("workers", "job slots")
    )
    slots.add_argument(
        "--no-workers", action="store_true", help="HTTP only; run `rankion worker` beside it"
    )
    limits = serve.add_argument_group("abuse limits (0 turns one off)")
    limits.add_argument(
        "--max-active-jobs",
        metavar="N",
        type=non_negative,
        help=option_help("max_active_jobs", "generations/edits a team may have queued or running"),
    )
    limits.add_argument(
        "--charge-rate",
        metavar="N",
        type=non_negative,
        help=option_help("charge_rate", "generate/edit requests per team and minute, per process"),
    )
    serve.set_defaults(handler=guarded(cmd.run_serve))


def _add_worker(commands: Commands, common: Parser) -> None:
    worker = commands.add_parser(
        "worker",
        parents=[common, provider_options()],
        help="job workers and maintenance only, no HTTP (until SIGTERM/SIGINT)",
    )
    worker.add_argument(
        "--concurrency", metavar="N", type=positive, help=option_help("workers", "job slots")
    )
    worker.set_defaults(handler=guarded(cmd.run_worker))


def _add_team(tree: CommandTree, common: Parser) -> None:
    verbs = _noun(tree, common, "team", "create, list")
    create = verbs.add_parser("create", parents=[common], help="create a team; prints its id")
    create.add_argument("name")
    create.add_argument("--credits", metavar="N", type=credits, default=0, help="default 0")
    _admin(create, cmd.create_team)
    listing = verbs.add_parser("list", parents=[common], help="every team, one a line")
    _admin(listing, cmd.list_teams)


def _add_project(tree: CommandTree, common: Parser) -> None:
    verbs = _noun(tree, common, "project", "create, list")
    create = verbs.add_parser("create", parents=[common], help="create a project; prints its id")
    _team_option(create)
    create.add_argument("name")
    _admin(create, cmd.create_project)
    listing = verbs.add_parser("list", parents=[common], help="a team's projects, one a line")
    _team_option(listing)
    _admin(listing, cmd.list_projects)


def _add_token(tree: CommandTree, common: Parser) -> None:
    verbs = _noun(tree, common, "token", "create, list, revoke")
    create = verbs.add_parser(
        "create", parents=[common], help="create an API token; prints it once"
    )
    _team_option(create)
    create.add_argument("--user", metavar="NAME", default="admin", help="default admin")
    create.add_argument(
        "--expires-in",
        metavar="DAYS",
        type=days,
        help="the token stops working after this many days (fractions allowed; "
        "default: never, until revoked)",
    )
    _admin(create, cmd.create_token)
    listing = verbs.add_parser(
        "list", parents=[common], help="a team's tokens, one a line (never the secret)"
    )
    _team_option(listing)
    _admin(listing, cmd.list_tokens)
    revoke = verbs.add_parser(
        "revoke", parents=[common], help="revoke a token by its id; prints the id"
    )
    revoke.add_argument("id", metavar="ID", type=positive, help="the token's id (token list)")
    _admin(revoke, cmd.revoke_token)


def _add_credits(tree: CommandTree, common: Parser) -> None:
    verbs = tree.noun("credits", "a team's credits", parents=[common])
    grant = verbs.add_parser("grant", parents=[common], help="add credits; prints the new balance")
    _team_option(grant)
    grant.add_argument("amount", metavar="N", type=int, help="how many credits (> 0)")
    _admin(grant, cmd.grant_credits)


def _noun(tree: CommandTree, common: Parser, noun: str, verbs: str) -> Commands:
    """``rankion NOUN …``: the parsers of NOUN's verbs."""
    return tree.noun(noun, f"{noun}: {verbs}", parents=[common])


def _add_simple(
    commands: Commands, common: Parser, name: str, action: cmd.AdminAction, help_text: str
) -> None:
    _admin(commands.add_parser(name, parents=[common], help=help_text), action)


def _team_option(parser: Parser) -> None:
    parser.add_argument("--team", metavar="TEAM", required=True, help="a team name or id")


def _admin(parser: Parser, action: cmd.AdminAction) -> None:
    parser.set_defaults(handler=guarded(cmd.run_admin), admin_action=action)


Handler = Callable[[argparse.Namespace], int]


def guarded(handler: Handler) -> Handler:
    """``handler`` with what goes wrong in a command said in one line."""
    return partial(_run_guarded, handler)


def os_error(exc: OSError) -> str:
    """What the system refused, in words and with its path, without the errno."""
    if exc.strerror and exc.filename:
        return f"{exc.strerror.lower()}: {exc.filename}"
    return exc.strerror or str(exc)


def _run_guarded(handler: Handler, args: argparse.Namespace) -> int:
    try:
        return handler(args)
    except cmd.UsageError as exc:
        return fail(str(exc), EXIT_USAGE)
    except cmd.CommandError as exc:
        return fail(str(exc))
    except RankionError as exc:
        return fail(exc.message)
    except OSError as exc:  # a folder that cannot be written, a file in the way...
        return fail(os_error(exc))
