"""The one harness for tests that drive real processes: run ``rankion`` commands, start
``serve`` / ``worker`` processes (and kill them with ``-9``), talk HTTP to them, and poll
until something is true.

- **One environment cleaner**: every child process gets this process's environment
  with every variable of the settings table (``rankion_server.settings``) removed, then
  exactly the settings the test asks for (``clean_env``). A setting left in the
  developer's shell never leaks into a test.
- **One timeout policy** (``TIMEOUTS``): a command, a start, a stop, a request, a
  script; a wait that runs out fails with the process's log.
- **One process class** (``Process``): every process runs in its own session, is
  remembered in ``RUNNING`` and is stopped when the test that started it ends (the
  ``e2e`` and ``hostile`` conftests); the log of every process still running is
  printed under a failing test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

import aiohttp
from attrs import define, field
from multidict import CIMultiDictProxy

from rankion_server.settings import ENV_NAMES

T = TypeVar("T")

#: for tests that queue dozens of generations at once: the per-team abuse limits
#: (active jobs, charges per minute) are not what they test
NO_LIMITS = {"RANKION_MAX_ACTIVE_JOBS": "0", "RANKION_CHARGE_RATE": "0"}


@define(frozen=True)
class Timeouts:
    """How long the harness waits, in seconds; generous for a loaded shared machine."""

    #: one ``rankion`` command (imports, migrations, a few queries)
    cli: float = 90.0
    #: a process until it is ready (``/healthz`` answers, or the worker says it runs)
    start: float = 45.0
    #: SIGTERM until exit; then SIGKILL
    stop: float = 15.0
    #: one HTTP request
    http: float = 30.0
    #: a whole script (a documentation example)
    script: float = 180.0
    #: the bounded fuzzing run
    fuzz: float = 420.0


TIMEOUTS = Timeouts()


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any variable of the settings table,
    unbuffered, plus ``extra`` (what the test asks for)."""
    env = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def rankion_command() -> list[str]:
    """The installed console script, looked up in this interpreter's bin dir first."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join([venv_bin, os.environ.get("PATH", "")])
    script = shutil.which("rankion", path=path)
    return [script] if script else [sys.executable, "-m", "rankion_cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- commands that end


@define(frozen=True)
class CliResult:
    args: Sequence[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def last_line(self) -> str:
        lines = self.stdout.strip().splitlines()
        return lines[-1] if lines else ""

    def describe(self) -> str:
        return (
            f"{' '.join(self.args)} → exit {self.returncode}\n"
            f"stdout: {self.stdout!r}\nstderr: {self.stderr!r}"
        )


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = TIMEOUTS.cli,
    merge_stderr: bool = False,
) -> CliResult:
    """Run ``argv`` to its end in a session of its own, in the cleaned environment plus
    ``env``; whatever it leaves running is killed. Fails when ``timeout`` runs out."""
    child = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE,
        env=clean_env(env),
        cwd=cwd,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        raise AssertionError(
            f"{' '.join(argv)}: still running after {timeout} s\n{out}\n{err or ''}"
        ) from None
    finally:
        with contextlib.suppress(ProcessLookupError):  # and whatever it left running
            os.killpg(child.pid, signal.SIGKILL)
    return CliResult(list(argv), child.returncode, out, err or "")


def run_cli(
    *args: str, data_dir: Path | None = None, env: Mapping[str, str] | None = None
) -> CliResult:
    """``rankion ARGS [--data-dir DIR]``; the options follow the subcommand on purpose."""
    full = [*args, "--data-dir", str(data_dir)] if data_dir is not None else list(args)
    done = run([*rankion_command(), *full], env=env)
    return CliResult(full, done.returncode, done.stdout, done.stderr)


def cli_value(
    *args: str, data_dir: Path | None = None, env: Mapping[str, str] | None = None
) -> str:
    """The last stdout line of a command that must succeed."""
    result = run_cli(*args, data_dir=data_dir, env=env)
    assert result.returncode == 0, result.describe()
    return result.last_line


@define(frozen=True)
class Tenant:
    team_id: int
    project_id: int
    token: str


def bootstrap(
    data_dir: Path | None,
    team: str = "e2e",
    credits: int = 1000,
    env: Mapping[str, str] | None = None,
) -> Tenant:
    """A team with credits, a project and a token, made with the CLI like a person would
    (on ``data_dir``, or where ``env`` says)."""
    where: dict[str, Any] = {"data_dir": data_dir, "env": env}
    team_id = cli_value("team", "create", team, "--credits", str(credits), **where)
    project = cli_value("project", "create", "--team", team, "Launch", **where)
    token = cli_value("token", "create", "--team", team_id, "--user", "e2e", **where)
    return Tenant(int(team_id), int(project), token)


# ---------------------------------------------------------------- long-running processes


#: processes started and not yet stopped: their logs are printed when a test fails
RUNNING: list[Process] = []


@define
class Process:
    """One long-running ``rankion`` process, its output in ``log_path``; with
    ``command``, that program instead (an example app), ``args`` after it."""

    name: str
    args: list[str]
    log_path: Path
    #: the settings asked for, set on top of the cleaned environment
    env: dict[str, str] = field(factory=dict)
    port: int | None = None
    command: list[str] | None = None
    #: what answers 200 once it serves
    health_path: str = "/healthz"
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def base_url(self) -> str:
        assert self.port is not None, f"{self.name} serves no HTTP"
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.popen is not None, f"{self.name} was never started"
        return self.popen.pid

    def start(self) -> Process:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                [*(self.command or rankion_command()), *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_env(self.env),
                start_new_session=True,
            )
        RUNNING.append(self)
        return self

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_until(self, ready: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                code = None if self.popen is None else self.popen.returncode
                raise AssertionError(f"{self.name} exited ({code}) before {what}:\n{self.log()}")
            if ready():
                return
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: no {what} within {timeout} s:\n{self.log()}")

    def wait_healthy(self, timeout: float = TIMEOUTS.start) -> None:
        self.wait_until(self._healthy, "/healthz answering 200", timeout)

    def wait_for_log(self, text: str, timeout: float = TIMEOUTS.start) -> None:
        self.wait_until(lambda: text in self.log(), f"{text!r} in its log", timeout)

    def wait_ready(self, timeout: float = TIMEOUTS.start) -> None:
        """A server until it answers, a worker until it announces itself."""
        if self.port is not None:
            self.wait_healthy(timeout)
        else:
            self.wait_for_log("rankion worker running", timeout)

    def _healthy(self) -> bool:
        try:
            url = self.base_url + self.health_path
            with urllib.request.urlopen(url, timeout=1) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    def kill9(self) -> None:
        """``kill -9``: no handler runs, nothing is flushed or released."""
        assert self.popen is not None, f"{self.name} was never started"
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(TIMEOUTS.stop)

    def stop(self, timeout: float = TIMEOUTS.stop) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code."""
        if self in RUNNING:
            RUNNING.remove(self)
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(TIMEOUTS.stop)
        return self.popen.returncode


def _start(
    name: str,
    args: list[str],
    *,
    data_dir: Path | None,
    logs: Path | None,
    env: Mapping[str, str] | None,
    port: int | None,
    wait: bool,
) -> Process:
    folder = logs or data_dir
    assert folder is not None, "a process needs a data dir or a folder for its log"
    if data_dir is not None:
        args = [*args, "--data-dir", str(data_dir)]
    process = Process(name, args, folder / f"{name}.log", dict(env or {}), port).start()
    if wait:
        process.wait_ready()
    return process


def serve(
    *args: str,
    data_dir: Path | None = None,
    logs: Path | None = None,
    name: str = "serve",
    env: Mapping[str, str] | None = None,
    wait: bool = True,
) -> Process:
    """``rankion serve ARGS`` on a free port (``--data-dir`` when given); its log in
    ``logs`` (default: the data dir); ``wait``: until ``/healthz`` answers."""
    port = free_port()
    argv = ["serve", "--port", str(port), *args]
    return _start(name, argv, data_dir=data_dir, logs=logs, env=env, port=port, wait=wait)


def worker(
    *args: str,
    data_dir: Path | None = None,
    logs: Path | None = None,
    name: str = "worker",
    env: Mapping[str, str] | None = None,
    wait: bool = True,
) -> Process:
    """``rankion worker ARGS``; ``wait``: until it says it runs."""
    argv = ["worker", *args]
    return _start(name, argv, data_dir=data_dir, logs=logs, env=env, port=None, wait=wait)


@define(frozen=True)
class Server:
    """A running ``rankion serve``, its data dir and a team on it."""

    process: Process
    data_dir: Path
    tenant: Tenant

    @property
    def base_url(self) -> str:
        return self.process.base_url


def logs_of_running() -> str:
    return "".join(
        f"\n===== log of {p.name} ({p.log_path}) =====\n{p.log()[-20_000:]}" for p in RUNNING
    )


def stop_started_since(before: Sequence[Process]) -> None:
    """Stop every process started after ``before`` was taken (the end of a test)."""
    for process in [p for p in RUNNING if p not in before]:
        process.stop()


# ---------------------------------------------------------------- HTTP


def http_session(**options: Any) -> aiohttp.ClientSession:
    """A client session bounded by the harness's request timeout."""
    timeout = aiohttp.ClientTimeout(total=TIMEOUTS.http)
    return aiohttp.ClientSession(timeout=timeout, **options)


@define(frozen=True)
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def data(self) -> Any:
        return self.json()["data"]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def expect(reply: Reply, status: int) -> Reply:
    assert reply.status == status, f"expected {status}, got {reply.status}: {reply.text[:500]}"
    return reply


@define
class Api:
    """Requests against one server, with or without the bearer token."""

    session: aiohttp.ClientSession
    base_url: str
    token: str | None = None

    def url(self, path_or_url: str) -> str:
        return urljoin(self.base_url + "/", path_or_url)

    async def request(self, method: str, path: str, body: Any = None) -> Reply:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["json"] = body
        async with self.session.request(method, self.url(path), **kwargs) as resp:
            return Reply(resp.status, resp.headers, await resp.read())

    async def get(self, path: str) -> Reply:
        return await self.request("GET", path)

    async def post(self, path: str, body: Any = None) -> Reply:
        return await self.request("POST", path, body)

    async def delete(self, path: str) -> Reply:
        return await self.request("DELETE", path)

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        """The JSON answer of a request that must answer ``status`` (None for a 204)."""
        reply = expect(await self.request(method, path, body), status)
        return reply.json() if reply.body else None

    async def data(self, path: str) -> Any:
        return expect(await self.get(path), 200).data

    async def total(self, path: str) -> int:
        """``meta.total`` of a list."""
        return int(expect(await self.get(path), 200).json()["meta"]["total"])

    async def all_pages(self, path: str) -> list[Any]:
        rows: list[Any] = []
        page = 1
        joiner = "&" if "?" in path else "?"
        while True:
            answer = await self.ok("GET", f"{path}{joiner}per_page=100&page={page}")
            rows.extend(answer["data"])
            if page >= answer["meta"]["last_page"]:
                return rows
            page += 1

    async def download(self, url: str) -> bytes:
        """A signed link, fetched as a browser would: no token."""
        async with self.session.get(self.url(url)) as reply:
            assert reply.status == 200, f"GET {url} → {reply.status}"
            return await reply.read()


async def poll(
    check: Callable[[], Awaitable[T | None]],
    *,
    within: float = 30.0,
    every: float = 0.1,
    what: str = "",
) -> T:
    """Call ``check`` until it returns something other than None or False; that."""
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {within} s waiting for {what or check}")
        await asyncio.sleep(every)


# ---------------------------------------------------------------- gallery steps


async def image_ready(api: Api, image_id: int) -> dict[str, Any] | None:
    """The image once ``ready``; fails at once if it ``failed``."""
    image = expect(await api.get(f"/v1/images/{image_id}"), 200).data
    assert image["processing_status"] != "failed", image
    return image if image["processing_status"] == "ready" else None


async def generate(api: Api, prompt: str, **fields: Any) -> dict[str, Any]:
    """Generate an image and wait until it is ready; its detail."""
    body = {"prompt": prompt, "size": "256x256", **fields}
    queued = expect(await api.post("/v1/generate/image", body), 202).data
    return await poll(lambda: image_ready(api, queued["image_id"]), what="the image")
