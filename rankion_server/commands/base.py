"""Shared by every command: its result, its errors, its configuration and output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from attrs import define, field

from rankion_core import Rankion

from ..config import ServerConfig
from ..settings import SettingError


@define(frozen=True)
class Output:
    """What a command made: ``value`` for the last line, ``data`` for ``--json``,
    ``note`` a line for people (on stderr, left out with ``--json``)."""

    value: str
    data: dict[str, Any]
    note: str | None = field(default=None, kw_only=True)


AdminAction = Callable[[Rankion, argparse.Namespace], Awaitable[Output]]


class CommandError(Exception):
    """Bad input a command found (exit 1)."""


class UsageError(Exception):
    """A malformed command line or environment found after parsing (exit 2)."""


def setting(args: argparse.Namespace, name: str, default: Any = None) -> Any:
    """An option every command takes; absent when not given (defaults are suppressed)."""
    return getattr(args, name, default)


def make_config(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    *,
    create_dir: bool = False,
    **overrides: Any,
) -> ServerConfig:
    """The configuration the command line and ``environ`` give (an option that is None
    was not given). Only the commands that set up (``team create``, ``migrate``,
    ``serve``) pass ``create_dir``: the others refuse a data dir that does not exist
    rather than start an empty one. A malformed variable is a ``UsageError``."""
    try:
        return ServerConfig.from_env(
            environ,
            database=setting(args, "database"),
            blobs=setting(args, "blobs"),
            data_dir=setting(args, "data_dir"),
            create_dir=create_dir,
            **overrides,
        )
    except SettingError as exc:
        raise UsageError(str(exc)) from None


def wants_json(args: argparse.Namespace) -> bool:
    return bool(setting(args, "json", False))


def print_json(data: dict[str, Any]) -> None:
    print(json.dumps(data, separators=(",", ":"), default=str), flush=True)


def emit(args: argparse.Namespace, output: Output) -> None:
    if wants_json(args):
        print_json(output.data)
        return
    if output.note:
        print(output.note, file=sys.stderr, flush=True)
    print(output.value, flush=True)


def warn(message: str) -> None:
    print(f"rankion: warning: {message}", file=sys.stderr, flush=True)


def redact(url: str) -> str:
    """``url`` without its password, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))
