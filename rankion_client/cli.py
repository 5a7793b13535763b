"""The client side of ``rankion``: talk to a running server over HTTP.

    rankion images generate "a lighthouse" --wait -o out.png
    rankion images export 12 13 14 -o photos.zip
    rankion calendar list 3

``--url`` (env ``RANKION_URL``, default http://127.0.0.1:8080) and ``--token`` (env
``RANKION_TOKEN``). As with the admin commands, what a command makes is printed alone
on the last line of stdout (``--json``: one JSON object), and notes and progress go to
stderr. ``rankion_server.cli`` hooks these in with ``add_client_commands``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from .client import DEFAULT_URL, Client
from .convert import body as to_json
from .errors import ApiError, JobFailed
from .models import ExportOut

__all__ = ["ClientCommandError", "add_client_commands"]

Action = Callable[[Client, argparse.Namespace], Awaitable[tuple[str, dict[str, Any]]]]


class ClientCommandError(Exception):
    """What went wrong, in one line (exit 1)."""


def _options() -> argparse.ArgumentParser:
    shared = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    shared.add_argument("--url", help=f"the server (env RANKION_URL, default {DEFAULT_URL})")
    shared.add_argument("--token", help="an API token (env RANKION_TOKEN)")
    shared.add_argument("--json", action="store_true", help="print one JSON object on one line")
    return shared


def add_client_commands(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    """``images generate|export|get`` and ``calendar list`` under ``commands``."""
    shared = _options()
    images = commands.add_parser(
        "images", parents=[shared], help="images on a server: generate, export, get"
    )
    verbs = images.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=parser_class
    )
    generate = verbs.add_parser(
        "generate", parents=[shared], help="generate an image; prints its id"
    )
    generate.add_argument("prompt")
    generate.add_argument("--size", help="e.g. 1024x1024")
    generate.add_argument("--model")
    generate.add_argument("--title")
    generate.add_argument("--project", type=int, metavar="ID", help="a project id")
    generate.add_argument("--wait", action="store_true", help="wait until it is ready")
    generate.add_argument("-o", "--output", metavar="FILE", help="save it (implies --wait)")
    generate.set_defaults(handler=_run, client_action=_generate)
    export = verbs.add_parser("export", parents=[shared], help="export images to a ZIP")
    export.add_argument("ids", nargs="+", type=int, metavar="ID")
    export.add_argument("-o", "--output", metavar="FILE", required=True, help="the ZIP to write")
    export.set_defaults(handler=_run, client_action=_export)
    get = verbs.add_parser("get", parents=[shared], help="print an image as JSON")
    get.add_argument("id", type=int)
    get.set_defaults(handler=_run, client_action=_get_image)
    calendar = commands.add_parser(
        "calendar", parents=[shared], help="a project's editorial calendar"
    )
    cal_verbs = calendar.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=parser_class
    )
    listing = cal_verbs.add_parser("list", parents=[shared], help="list a project's events")
    listing.add_argument("project", type=int, metavar="PROJECT")
    listing.set_defaults(handler=_run, client_action=_calendar_list)


def _run(args: argparse.Namespace) -> int:
    url = getattr(args, "url", None) or os.environ.get("RANKION_URL") or DEFAULT_URL
    token = getattr(args, "token", None) or os.environ.get("RANKION_TOKEN")
    try:
        if not token:
            raise ClientCommandError("no token: pass --token or set RANKION_TOKEN")
        value, data = asyncio.run(_call(url, token, args))
    except ClientCommandError as exc:
        print(f"rankion: error: {exc}", file=sys.stderr, flush=True)
        return 1
    if getattr(args, "json", False):
        print(json.dumps(data, separators=(",", ":"), default=str), flush=True)
    else:
        print(value, flush=True)
    return 0


async def _call(url: str, token: str, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    async with Client(url, token) as client:
        try:
            return await args.client_action(client, args)  # type: ignore[no-any-return]
        except ApiError as exc:
            raise ClientCommandError(f"{exc.code}: {exc.message}") from None
        except JobFailed as exc:
            raise ClientCommandError(str(exc)) from None


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _plain(obj: Any) -> dict[str, Any]:
    return json.loads(json.dumps(attrs.asdict(obj), default=str))  # type: ignore[no-any-return]


async def _generate(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    options = {"size": args.size, "model": args.model, "title": args.title}
    options["project_id"] = args.project
    queued = await client.images.generate(args.prompt, **{k: v for k, v in options.items() if v})
    _note(f"queued image {queued.image_id} (job {queued.job_id}, {queued.credits_charged} credits)")
    data: dict[str, Any] = _plain(queued)
    if args.wait or args.output:
        image = await client.images.wait_ready(queued.image_id)
        data = _plain(image)
        if args.output:
            await client.images.download(image.id, args.output)
            _note(f"saved {args.output}")
    return str(queued.image_id), data


def _bar(export: ExportOut) -> None:
    done, total = export.progress.done, max(export.progress.total, 1)
    filled = round(30 * done / total)
    sys.stderr.write(
        f"\rexport {export.job_id} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}"
    )
    sys.stderr.flush()


async def _export(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    started = await client.exports.start(args.ids)
    ready = await client.exports.wait(started.job_id, on_progress=_bar)
    _note("")
    await client.exports.download(started.job_id, args.output)
    skipped = f" ({len(ready.skipped_ids)} skipped)" if ready.skipped_ids else ""
    _note(f"saved {args.output}: {ready.size_bytes} bytes{skipped}")
    return args.output, _plain(ready)


async def _get_image(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    image = _plain(await client.images.get(args.id))
    return json.dumps(image, separators=(",", ":")), image


async def _calendar_list(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    events = [event async for event in client.calendar.iter(args.project)]
    for event in events[:-1] if not getattr(args, "json", False) else []:
        print(_line(event), flush=True)
    last = _line(events[-1]) if events else "(no events)"
    return last, {"events": [_plain(e) for e in events]}


def _line(event: Any) -> str:
    when = to_json(event).get("scheduled_at") or "-"
    return f"{event.id}\t{when}\t{event.status.value}\t{event.type.value}\t{event.title}"
