"""Drive the installed ``rankion`` script: run CLI commands, start and stop processes,
talk HTTP to them, poll until something is true."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin

import aiohttp
from attrs import define, field
from multidict import CIMultiDictProxy

T = TypeVar("T")

#: every environment variable the CLI reads; the tests set what they need explicitly
RANKION_ENV = (
    "RANKION_DATABASE_URL",
    "RANKION_BLOBS_URL",
    "RANKION_DATA_DIR",
    "RANKION_SECRET",
    "RANKION_PUBLIC_URL",
    "RANKION_PROVIDER",
    "RANKION_WORKERS",
    "RANKION_DEBUG",
)
CLI_TIMEOUT = 60.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


def rankion_command() -> list[str]:
    """The installed console script, looked up in this interpreter's bin dir first."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join([venv_bin, os.environ.get("PATH", "")])
    script = shutil.which("rankion", path=path)
    return [script] if script else [sys.executable, "-m", "rankion_cli"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in RANKION_ENV}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- one-shot commands


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
            f"rankion {' '.join(self.args)} → exit {self.returncode}\n"
            f"stdout: {self.stdout!r}\nstderr: {self.stderr!r}"
        )


def run_cli(*args: str, data_dir: Path | None = None) -> CliResult:
    """``rankion ARGS [--data-dir DIR]``; the options follow the subcommand on purpose."""
    full = [*args, "--data-dir", str(data_dir)] if data_dir is not None else list(args)
    done = subprocess.run(
        [*rankion_command(), *full],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=CLI_TIMEOUT,
        check=False,
    )
    return CliResult(full, done.returncode, done.stdout, done.stderr)


def cli_value(*args: str, data_dir: Path) -> str:
    """The last stdout line of a command that must succeed."""
    result = run_cli(*args, data_dir=data_dir)
    assert result.returncode == 0, result.describe()
    return result.last_line


@define(frozen=True)
class Tenant:
    team_id: int
    project_id: int
    token: str


def bootstrap(data_dir: Path, team: str = "e2e", credits: int = 1000) -> Tenant:
    """A team with credits, a project and a token, made with the CLI like a person would."""
    team_id = cli_value("team", "create", team, "--credits", str(credits), data_dir=data_dir)
    project = cli_value("project", "create", "--team", team, "Launch", data_dir=data_dir)
    token = cli_value("token", "create", "--team", team_id, "--user", "e2e", data_dir=data_dir)
    return Tenant(int(team_id), int(project), token)


# ---------------------------------------------------------------- long-running processes


@define
class Process:
    """A ``rankion serve`` or ``rankion worker`` subprocess with its log in a file."""

    name: str
    args: list[str]
    log_path: Path
    port: int | None = None
    #: environment variables set for this process on top of the cleaned environment
    env: dict[str, str] = field(factory=dict)
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def base_url(self) -> str:
        assert self.port is not None, f"{self.name} has no HTTP port"
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Process:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                [*rankion_command(), *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=clean_env(**self.env),
                start_new_session=True,
            )
        RUNNING.append(self)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def exited(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def wait_for_log(self, text: str, timeout: float = START_TIMEOUT) -> None:
        self._wait(lambda: text in self.log(), timeout, f"{text!r} in its log")

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        self._wait(self._healthy, timeout, "/healthz to answer 200")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exited() is not None:
                raise AssertionError(f"{self.name} exited with {self.exited()}:\n{self.log()}")
            if ready():
                return
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: no {what} within {timeout}s:\n{self.log()}")

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code."""
        if self.popen is None:
            return 0
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        if self in RUNNING:
            RUNNING.remove(self)
        return self.popen.returncode


@define(frozen=True)
class Server:
    process: Process
    data_dir: Path
    tenant: Tenant

    @property
    def base_url(self) -> str:
        return self.process.base_url


#: processes started and not yet stopped: their logs are printed when a test fails
RUNNING: list[Process] = []


def serve(
    data_dir: Path, *extra: str, name: str = "serve", env: dict[str, str] | None = None
) -> Process:
    port = free_port()
    args = ["serve", "--port", str(port), "--data-dir", str(data_dir), *extra]
    log_path = data_dir / f"{name}.log"
    process = Process(name, args, log_path, port=port, env=env or {}).start()
    process.wait_healthy()
    return process


def worker(
    data_dir: Path, *extra: str, name: str = "worker", env: dict[str, str] | None = None
) -> Process:
    args = ["worker", "--data-dir", str(data_dir), *extra]
    process = Process(name, args, data_dir / f"{name}.log", env=env or {}).start()
    process.wait_for_log("rankion worker running")
    return process


# ---------------------------------------------------------------- HTTP


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


def expect(reply: Reply, status: int) -> Reply:
    assert reply.status == status, f"expected {status}, got {reply.status}: {reply.text[:500]}"
    return reply


async def poll(
    check: Callable[[], Awaitable[T | None]], *, within: float = 30.0, every: float = 0.1
) -> T:
    """Call ``check`` until it returns something other than None."""
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up polling after {within}s")
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
    return await poll(lambda: image_ready(api, queued["image_id"]))
