"""The client side of ``rankion``: talk to a running server over HTTP.

    rankion images generate "a lighthouse" --wait -o out.png
    rankion images list --q lighthouse --tag hero --sort edited
    rankion images edit 12 "golden hour" --wait
    rankion images trash 12 / restore 12 / share 12 / unshare 12
    rankion images export 12 13 14 -o photos.zip
    rankion calendar list 3 / create 3 "Launch post" --at 2027-05-15T09:00:00Z
    rankion calendar update 41 --status published
    rankion calendar shift 3 --from 2027-05-01 --to 2027-05-31 --days 7
    rankion credits balance

``--url`` (env ``RANKION_URL``, default http://127.0.0.1:8080) and ``--token`` (env
``RANKION_TOKEN``). As with the admin commands, what a command makes is printed alone
on the last line of stdout (``--json``: one JSON object), and notes and progress go to
stderr. ``register`` adds these to the ``rankion`` script (``rankion_cli``), which finds it
through the entry-point group ``rankion.commands``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from rankion_cli import CommandTree, Parser, fail
from rankion_core.models import EventStatus

from .client import DEFAULT_URL, Client, server_and_token
from .convert import body as to_json
from .convert import unstructure
from .errors import ApiError, ApiWarning, JobFailed, ServerUnreachable
from .models import ExportOut

__all__ = ["ClientCommandError", "register"]

Action = Callable[[Client, argparse.Namespace], Awaitable[tuple[str, dict[str, Any]]]]


class ClientCommandError(Exception):
    """What went wrong, in one line (exit 1)."""


def _options() -> Parser:
    shared = Parser(add_help=False, argument_default=argparse.SUPPRESS)
    shared.add_argument("--url", help=f"the server (env RANKION_URL, default {DEFAULT_URL})")
    shared.add_argument("--token", help="an API token (env RANKION_TOKEN)")
    shared.add_argument("--json", action="store_true", help="print one JSON object on one line")
    return shared


def register(tree: CommandTree) -> None:
    """``images …``, ``calendar …`` and ``credits balance``."""
    shared = _options()
    _image_commands(tree, shared)
    _calendar_commands(tree, shared)
    credits = tree.noun("credits", "a team's credits", parents=[shared])
    balance = credits.add_parser("balance", parents=[shared], help="the team's credit balance")
    balance.set_defaults(handler=_run, client_action=_credits)


def _image_commands(tree: CommandTree, shared: Parser) -> None:
    verbs = tree.noun(
        "images", "images on a server: generate, list, edit, trash, share, export", [shared]
    )

    def verb(name: str, action: Action, help: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = verbs.add_parser(name, parents=[shared], help=help)
        parser.set_defaults(handler=_run, client_action=action)
        return parser

    generate = verb("generate", _generate, "generate an image; prints its id")
    generate.add_argument("prompt")
    generate.add_argument("--size", help="e.g. 1024x1024")
    generate.add_argument("--model")
    generate.add_argument("--title")
    generate.add_argument("--project", type=int, metavar="ID", help="a project id")
    generate.add_argument("--tag", action="append", dest="tags", metavar="TAG", help="repeatable")
    _waiting(generate)
    listing = verb("list", _list_images, "list the gallery; one image a line")
    listing.add_argument("--q", help="words in title, prompt or tags")
    listing.add_argument("--tag", action="append", dest="tags", metavar="TAG", help="repeatable")
    listing.add_argument("--model")
    listing.add_argument("--from", dest="from_", metavar="WHEN", help="a date or ISO time")
    listing.add_argument("--to", metavar="WHEN", help="a date or ISO time")
    listing.add_argument("--favorite", choices=["true", "false"])
    listing.add_argument("--project", type=int, metavar="ID")
    listing.add_argument("--status", help="e.g. ready,failed")
    listing.add_argument("--sort", choices=["newest", "oldest", "edited"])
    listing.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    edit = verb("edit", _edit, "edit an image into a new variant; prints the variant's id")
    edit.add_argument("id", type=int)
    edit.add_argument("prompt")
    edit.add_argument("--session", type=int, metavar="ID", help="continue an edit session")
    _waiting(edit)
    for name, action, text in (
        ("trash", _trash, "move an image to the trash"),
        ("restore", _restore, "bring an image back from the trash"),
        ("unshare", _unshare, "revoke an image's public link"),
    ):
        verb(name, action, text).add_argument("id", type=int)
    share = verb("share", _share, "share an image publicly; prints the public URL")
    share.add_argument("id", type=int)
    share.add_argument("--expires-at", metavar="WHEN", help="ISO time with an offset")
    export = verb("export", _export, "export images to a ZIP")
    export.add_argument("ids", nargs="+", type=int, metavar="ID")
    export.add_argument("-o", "--output", metavar="FILE", required=True, help="the ZIP to write")
    verb("get", _get_image, "print an image as JSON").add_argument("id", type=int)


def _waiting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="wait until it is ready")
    parser.add_argument("-o", "--output", metavar="FILE", help="save it (implies --wait)")


def _calendar_commands(tree: CommandTree, shared: Parser) -> None:
    verbs = tree.noun("calendar", "a project's editorial calendar", [shared])
    listing = verbs.add_parser("list", parents=[shared], help="list a project's events")
    listing.add_argument("project", type=int, metavar="PROJECT")
    listing.set_defaults(handler=_run, client_action=_calendar_list)
    create = verbs.add_parser("create", parents=[shared], help="plan an event; prints its id")
    create.add_argument("project", type=int, metavar="PROJECT")
    create.add_argument("title")
    _event_fields(create)
    create.set_defaults(handler=_run, client_action=_calendar_create)
    update = verbs.add_parser("update", parents=[shared], help="change an event; prints its id")
    update.add_argument("event", type=int, metavar="EVENT")
    update.add_argument("--title")
    _event_fields(update)
    update.set_defaults(handler=_run, client_action=_calendar_update)
    shift = verbs.add_parser(
        "shift",
        parents=[shared],
        help="move a stretch of the calendar by whole days; prints how many moved",
    )
    shift.add_argument("project", type=int, metavar="PROJECT")
    shift.add_argument("--from", dest="from_", metavar="WHEN", required=True, help=_DAY_OR_TIME)
    shift.add_argument("--to", metavar="WHEN", required=True, help=_DAY_OR_TIME)
    shift.add_argument("--days", type=int, required=True, help="whole days, negative: earlier")
    shift.add_argument(
        "--status",
        action="append",
        dest="statuses",
        choices=[s.value for s in EventStatus],
        help="only events of this status (repeatable)",
    )
    shift.set_defaults(handler=_run, client_action=_calendar_shift)


_DAY_OR_TIME = "a date (that whole day in the project's zone) or an ISO time with an offset"


def _event_fields(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--at", dest="scheduled_at", metavar="WHEN", help="ISO time, an offset")
    parser.add_argument("--status", help="idea, planned, scheduled, published, cancelled")
    parser.add_argument("--type", help="article, social_post, newsletter, video, podcast, other")
    parser.add_argument("--article", dest="article_id", type=int, metavar="ID")
    parser.add_argument("--notes")


def _run(args: argparse.Namespace) -> int:
    url, token = server_and_token(getattr(args, "url", None), getattr(args, "token", None))
    try:
        if not token:
            raise ClientCommandError("no token: pass --token or set RANKION_TOKEN")
        value, data = asyncio.run(_call(url, token, args))
    except ClientCommandError as exc:
        return fail(str(exc))
    if getattr(args, "json", False):
        print(json.dumps(data, separators=(",", ":"), default=str), flush=True)
    else:
        print(value, flush=True)
    return 0


async def _call(url: str, token: str, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    async with Client(url, token) as client:
        try:
            with warnings.catch_warnings(record=True) as said:
                warnings.simplefilter("always", ApiWarning)
                done = await args.client_action(client, args)
            for item in said:  # the server's warnings, on stderr: stdout stays the answer
                _note(f"warning: {item.message}")
            return done  # type: ignore[no-any-return]
        except ApiError as exc:
            raise ClientCommandError(f"{exc.code}: {exc.message}") from None
        except (JobFailed, ServerUnreachable) as exc:  # said in full: no traceback to offer
            raise ClientCommandError(str(exc)) from None


def _note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _plain(obj: Any) -> dict[str, Any]:
    return unstructure(obj)  # type: ignore[no-any-return]


async def _generate(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    options = {"size": args.size, "model": args.model, "title": args.title}
    options["project_id"], options["tags"] = args.project, args.tags
    queued = await client.images.generate(args.prompt, **{k: v for k, v in options.items() if v})
    _note(f"queued image {queued.image_id} (job {queued.job_id}, {queued.credits_charged} credits)")
    data = await _maybe_wait(client, args, queued.image_id, queued.job_id, _plain(queued))
    return str(queued.image_id), data


async def _maybe_wait(
    client: Client, args: argparse.Namespace, image_id: int, job_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    """With ``--wait`` or ``-o``: follow the job on stderr until the image is ready."""
    if not (args.wait or args.output):
        return data
    await _follow(client, image_id, job_id)
    image = await client.images.wait_ready(image_id)
    if args.output:
        await client.images.download(image.id, args.output)
        _note(f"saved {args.output}")
    return _plain(image)


async def _follow(client: Client, image_id: int, job_id: int, poll: float = 0.5) -> None:
    """One status line on stderr, rewritten until the job ends: status, attempt, time."""
    started = time.monotonic()
    while True:
        job = await client.jobs.get(job_id)
        elapsed = time.monotonic() - started
        attempt = f", attempt {job.attempts}" if job.attempts else ""
        sys.stderr.write(f"\rimage {image_id}: {job.status.value}{attempt}, {elapsed:.1f} s   ")
        sys.stderr.flush()
        if job.status.value in ("succeeded", "failed"):
            _note("")
            return
        await asyncio.sleep(poll)


async def _list_images(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    names = ("q", "tags", "model", "from_", "to", "project_id", "status", "sort")
    filters = {name: getattr(args, name if name != "project_id" else "project") for name in names}
    if args.favorite is not None:
        filters["favorite"] = args.favorite == "true"
    found = []
    async for image in client.images.iter(**{k: v for k, v in filters.items() if v is not None}):
        found.append(image)
        if len(found) >= args.limit:
            break
    lines = [
        f"{i.id}\t{i.processing_status.value}\t{to_json(i)['created_at']}\t{i.title or '-'}"
        for i in found
    ]
    for line in lines[:-1] if not getattr(args, "json", False) else []:
        print(line, flush=True)
    return (lines[-1] if lines else "(no images)"), {"images": [_plain(i) for i in found]}


async def _edit(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    options = {"edit_session_id": args.session} if args.session else {}
    queued = await client.images.edit(args.id, args.prompt, **options)
    _note(f"queued variant {queued.image_id} of image {args.id} (job {queued.job_id})")
    data = await _maybe_wait(client, args, queued.image_id, queued.job_id, _plain(queued))
    return str(queued.image_id), data


async def _trash(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    trashed = await client.images.delete(args.id)
    _note(f"image {args.id} is in the trash until {to_json(trashed)['purge_at']}")
    return str(args.id), _plain(trashed)


async def _restore(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    return str(args.id), _plain(await client.images.restore(args.id))


async def _share(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    options = {"expires_at": _instant(args.expires_at)} if args.expires_at else {}
    share = await client.images.share(args.id, **options)
    return share.public_url, _plain(share)


async def _unshare(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    await client.images.revoke_share(args.id)
    return str(args.id), {"id": args.id, "share": None}


async def _credits(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    balance = await client.credits.balance()
    return str(balance), {"balance": balance}


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


async def _calendar_create(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    event = await client.calendar.create(args.project, args.title, **_event_changes(args))
    return str(event.id), _plain(event)


async def _calendar_update(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    changes = _event_changes(args)
    if args.title is not None:
        changes["title"] = args.title
    if not changes:
        raise ClientCommandError("nothing to change: give --title, --at, --status, … ")
    event = await client.calendar.update(args.event, **changes)
    return str(event.id), _plain(event)


async def _calendar_shift(client: Client, args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    shifted = await client.calendar.shift(
        args.project, from_=args.from_, to=args.to, days=args.days, statuses=args.statuses
    )
    _note(f"moved {shifted.moved} events by {args.days} days ({shifted.skipped} skipped)")
    return str(shifted.moved), _plain(shifted)


def _event_changes(args: argparse.Namespace) -> dict[str, Any]:
    names = ("scheduled_at", "status", "type", "article_id", "notes")
    changes = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if "scheduled_at" in changes:
        changes["scheduled_at"] = _instant(changes["scheduled_at"])
    return changes


def _instant(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ClientCommandError(f"not an ISO 8601 time: {text!r}") from None
    if when.tzinfo is None:
        raise ClientCommandError(f"{text!r} has no offset: add Z or +02:00")
    return when


def _line(event: Any) -> str:
    when = to_json(event).get("scheduled_at") or "-"
    return f"{event.id}\t{when}\t{event.status.value}\t{event.type.value}\t{event.title}"
