"""The Python client, the client CLI, live job events and webhooks, against real
processes: ``rankion serve --no-workers`` and a separate ``rankion worker``.

- The SSE stream of a job opened while no worker runs shows ``queued``; the worker
  (another process) then runs it and the stream shows ``running`` and ``succeeded``.
- The client generates, edits, waits, exports and downloads.
- A receiver on 127.0.0.1 gets a signed ``image.ready``; one that fails twice gets it
  on the third try, and the deliveries record all three attempts.
- ``rankion images generate --wait -o`` (with progress), ``images list/edit/trash/
  restore/share/unshare/export``, ``calendar list/create/update/shift`` and ``credits
  balance`` work against the server.
"""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from rankion_client import Client, verify_signature

from .support import NO_LIMITS, CliResult, cli_value, poll, run_cli, serve, worker

ENV = {
    **NO_LIMITS,
    "RANKION_POLL_SECONDS": "0.2",
    "RANKION_WEBHOOKS_ALLOW_PRIVATE": "1",
    "RANKION_WEBHOOK_BACKOFF_SECONDS": "0.2",
}
SLOW = ("--provider-option", "delay=0.6")


class Receivers:
    """``/ok`` answers 200; ``/flaky`` answers 500 twice, then 200. Both keep what came."""

    def __init__(self) -> None:
        self.got: dict[str, list[tuple[dict[str, str], bytes]]] = {"ok": [], "flaky": []}
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.got[name].append((dict(request.headers), await request.read()))
        failing = name == "flaky" and len(self.got[name]) <= 2
        return web.Response(status=500 if failing else 200)


@pytest.fixture
async def receivers() -> AsyncIterator[Receivers]:
    found = Receivers()
    app = web.Application()
    app.router.add_post("/{name}", found.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    found.url = f"http://127.0.0.1:{port}"
    yield found
    await runner.cleanup()


def _bootstrap(data_dir: Path) -> tuple[str, int]:
    where: dict[str, Any] = {"data_dir": data_dir, "env": ENV}
    cli_value("team", "create", "clients", "--credits", "500", **where)
    project = int(cli_value("project", "create", "--team", "clients", "Blog", **where))
    return cli_value("token", "create", "--team", "clients", **where), project


async def _states(client: Client, job_id: int) -> list[str]:
    return [state.status.value async for state in client.jobs.events(job_id)]


async def test_client_events_and_webhooks_against_real_processes(
    tmp_path: Path, receivers: Receivers
) -> None:
    data_dir = tmp_path / "data"
    token, project = _bootstrap(data_dir)
    server = serve("--no-workers", data_dir=data_dir, logs=tmp_path, env=ENV)
    async with Client(server.base_url, token) as client:
        await _sse_across_processes(client, data_dir, tmp_path)
        await _generate_edit_export(client, tmp_path)
        await _webhooks(client, receivers)
        _cli_commands(server.base_url, token, project, tmp_path)


async def _sse_across_processes(client: Client, data_dir: Path, logs: Path) -> None:
    queued = await client.images.generate("a windmill", size="256x256")
    following = asyncio.create_task(_states(client, queued.job_id))
    await asyncio.sleep(0.5)  # the stream has seen `queued`; no worker runs yet
    worker("--concurrency", "2", *SLOW, data_dir=data_dir, logs=logs, env=ENV)
    states = await asyncio.wait_for(following, 30)
    assert states == ["queued", "running", "succeeded"]


async def _generate_edit_export(client: Client, tmp_path: Path) -> None:
    queued = await client.images.generate("a lighthouse", size="256x256", title="Light")
    image = await client.images.wait_ready(queued.image_id, within=30)
    edit = await client.images.edit(image.id, "at night")
    variant = await client.images.wait_ready(edit.image_id, within=30)
    assert variant.parent_id == image.id
    saved = await client.images.download(variant.id, tmp_path / "variant.png")
    assert saved.read_bytes().startswith(b"\x89PNG")
    started = await client.exports.start([image.id, variant.id])
    seen: list[int] = []
    done = await client.exports.wait(
        started.job_id, on_progress=lambda e: seen.append(e.progress.done)
    )
    assert done.progress.done == done.progress.total == 2 and seen
    path = await client.exports.download(started.job_id, tmp_path / "out.zip")
    names = zipfile.ZipFile(io.BytesIO(path.read_bytes())).namelist()
    assert "manifest.json" in names and len(names) == 3
    assert await client.credits.balance() == 500 - 5 - 5 - 10


async def _webhooks(client: Client, receivers: Receivers) -> None:
    ok = await client.webhooks.create(f"{receivers.url}/ok", ["image.ready"])
    flaky = await client.webhooks.create(f"{receivers.url}/flaky", ["image.ready"])
    queued = await client.images.generate("a harbour", size="256x256")
    await client.images.wait_ready(queued.image_id, within=30)

    async def delivered() -> bool | None:
        return True if len(receivers.got["flaky"]) >= 3 and receivers.got["ok"] else None

    await poll(delivered, within=30, what="the webhook deliveries")
    headers, body = receivers.got["ok"][0]
    assert verify_signature(ok.secret, headers["Rankion-Signature"], body)
    assert not verify_signature(flaky.secret, headers["Rankion-Signature"], body)
    sent = json.loads(body)
    assert sent["type"] == "image.ready" and sent["data"]["image"]["id"] == queued.image_id
    third_headers, third_body = receivers.got["flaky"][2]
    assert verify_signature(flaky.secret, third_headers["Rankion-Signature"], third_body)

    async def recorded() -> Any:
        page = await client.webhooks.deliveries(flaky.id)
        row = page.items[0]
        return row if row.status.value == "succeeded" else None

    row = await poll(recorded, within=10, what="the delivery record")
    assert [a.status_code for a in row.attempts] == [500, 500, 200]


def _cli_commands(url: str, token: str, project: int, tmp_path: Path) -> None:
    env = {**ENV, "RANKION_TOKEN": token}
    png = tmp_path / "cli.png"
    made = run_cli(
        "images",
        "generate",
        "a lamp",
        "--size",
        "256x256",
        "--wait",
        "-o",
        str(png),
        "--url",
        url,
        env=env,
    )
    assert made.returncode == 0, made.stderr
    assert png.read_bytes().startswith(b"\x89PNG")
    image_id = made.stdout.strip().splitlines()[-1]
    out = tmp_path / "cli.zip"
    exported = run_cli("images", "export", image_id, "-o", str(out), "--url", url, env=env)
    assert exported.returncode == 0, exported.stderr
    assert "1/1" in exported.stderr and zipfile.is_zipfile(out)
    listed = run_cli("calendar", "list", str(project), "--url", url, "--json", env=env)
    assert listed.returncode == 0 and json.loads(listed.stdout) == {"events": []}
    denied = run_cli("calendar", "list", str(project), "--url", url, "--token", "rk_bad", env=env)
    assert denied.returncode == 1 and "unauthorized" in denied.stderr
    _more_cli_commands(url, project, env)


def _more_cli_commands(url: str, project: int, env: dict[str, str]) -> None:
    """The everyday verbs: list, edit, trash/restore, share, calendar create/update, balance."""

    def run(*args: str) -> CliResult:
        done = run_cli(*args, "--url", url, env=env)
        assert done.returncode == 0, f"{args}: {done.stderr}"
        return done

    def last(*args: str) -> str:
        return run(*args).stdout.strip().splitlines()[-1]

    made = run("images", "generate", "a red kite", "--title", "Kite", "--tag", "bird", "--wait")
    kite = made.stdout.strip().splitlines()[-1]
    assert "attempt 1" in made.stderr and "succeeded" in made.stderr
    assert json.loads(last("images", "get", kite))["tags"] == ["bird"]
    found = json.loads(last("images", "list", "--q", "kite", "--json"))["images"]
    assert [str(i["id"]) for i in found] == [kite] and found[0]["created_at"].endswith("Z")
    variant = last("images", "edit", kite, "at dawn", "--wait")
    edited = last("images", "list", "--sort", "edited", "--limit", "1")
    assert edited.split("\t")[0] == kite
    assert json.loads(last("images", "get", variant))["parent_id"] == int(kite)
    public = last("images", "share", kite)
    assert public.startswith(url + "/s/")
    assert last("images", "unshare", kite) == kite
    assert last("images", "trash", kite) == kite
    listed = json.loads(last("images", "list", "--q", "kite", "--json"))["images"]
    assert [str(i["id"]) for i in listed] == [variant]  # the edit stays; its source is gone
    assert last("images", "restore", kite) == kite
    event = last(
        "calendar", "create", str(project), "Kite post", "--at", "2027-05-15T09:00:00+02:00"
    )
    changed = json.loads(last("calendar", "update", event, "--status", "scheduled", "--json"))
    assert changed["status"] == "scheduled" and changed["scheduled_at"] == "2027-05-15T07:00:00Z"
    week = ("--from", "2027-05-15", "--to", "2027-05-15", "--days", "7")
    assert last("calendar", "shift", str(project), *week) == "1"
    events = json.loads(last("calendar", "list", str(project), "--json"))["events"]
    assert [e["scheduled_at"] for e in events if str(e["id"]) == event] == ["2027-05-22T07:00:00Z"]
    only_ideas = run("calendar", "shift", str(project), *week, "--status", "idea", "--json")
    assert json.loads(only_ideas.stdout) == {"moved": 0, "skipped": 0}
    balance = int(last("credits", "balance"))
    assert json.loads(last("credits", "balance", "--json")) == {"balance": balance}
    late = run(
        "calendar",
        "create",
        str(project),
        "Late",
        "--at",
        "2020-01-01T09:00:00Z",
        "--status",
        "scheduled",
    )
    assert late.stdout.strip().isdigit()  # stdout is the answer alone; the warning is on stderr
    assert "warning: scheduled_at 2020-01-01T09:00:00Z is in the past" in late.stderr
    naive = run_cli("calendar", "create", str(project), "x", "--at", "2027-05-15T09:00", env=env)
    assert naive.returncode == 1 and "no offset" in naive.stderr
