"""Subprocess helpers for the crash and scale-out tests: run ``rankion`` commands,
start ``serve`` / ``worker`` processes, kill them with ``-9``, and talk HTTP to them.

Every process is started in its own session and remembered by a ``Fleet``, which
stops what is still running (by pid) when the test ends and can print every log.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from attrs import define, field

from .support import free_port, rankion_command

T = TypeVar("T")

START_TIMEOUT = 45.0
STOP_TIMEOUT = 15.0
CLI_TIMEOUT = 90.0


#: these tests queue 50-100 generations at once: the per-team abuse limits (active
#: jobs, charges per minute) are not what they test, so they are off unless given
NO_LIMITS = {"RANKION_MAX_ACTIVE_JOBS": "0", "RANKION_CHARGE_RATE": "0"}


def base_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any ``RANKION_*`` setting, with the abuse
    limits off (``NO_LIMITS``), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RANKION_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(NO_LIMITS)
    env.update(extra or {})
    return env


def cli(*args: str, env: Mapping[str, str]) -> str:
    """Run ``rankion ARGS``; it must succeed. The last line of its stdout."""
    done = subprocess.run(
        [*rankion_command(), *args],
        capture_output=True,
        text=True,
        env=dict(env),
        timeout=CLI_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, (
        f"rankion {' '.join(args)} → exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""


@define
class Proc:
    """One long-running ``rankion`` process, its output in ``log_path``."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def base_url(self) -> str:
        assert self.port is not None, f"{self.name} serves no HTTP"
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def start(self) -> Proc:
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                [*rankion_command(), *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        return self

    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_until(self, ready: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise AssertionError(f"{self.name} exited before {what}:\n{self.log()}")
            if ready():
                return
            time.sleep(0.1)
        raise AssertionError(f"{self.name}: no {what} within {timeout} s:\n{self.log()}")

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        self.wait_until(self._healthy, "/healthz answering 200", timeout)

    def wait_for_log(self, text: str, timeout: float = START_TIMEOUT) -> None:
        self.wait_until(lambda: text in self.log(), f"{text!r} in its log", timeout)

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        """A server until it answers, a worker until it announces itself."""
        if self.port is not None:
            self.wait_healthy(timeout)
        else:
            self.wait_for_log("rankion worker running", timeout)

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as reply:
                return bool(reply.status == 200)
        except OSError:
            return False

    def kill9(self) -> None:
        """``kill -9``: no handler runs, nothing is flushed or released."""
        assert self.popen is not None
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(STOP_TIMEOUT)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(STOP_TIMEOUT)
        return self.popen.returncode


@define
class Fleet:
    """The processes a test started, stopped when it ends."""

    folder: Path
    procs: list[Proc] = field(factory=list)

    def serve(self, name: str, env: Mapping[str, str], *args: str, wait: bool = True) -> Proc:
        """``rankion serve`` on a free port; ``wait``: until ``/healthz`` answers."""
        port = free_port()
        argv = ["serve", "--port", str(port), *args]
        proc = self._start(Proc(name, argv, dict(env), self.folder / f"{name}.log", port=port))
        if wait:
            proc.wait_ready()
        return proc

    def worker(self, name: str, env: Mapping[str, str], *args: str, wait: bool = True) -> Proc:
        """``rankion worker``; ``wait``: until it says it runs."""
        proc = self._start(Proc(name, ["worker", *args], dict(env), self.folder / f"{name}.log"))
        if wait:
            proc.wait_ready()
        return proc

    def _start(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        return proc.start()

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.stop()

    def logs(self) -> str:
        return "\n".join(f"===== {p.name} =====\n{p.log()[-20_000:]}" for p in self.procs)


@contextmanager
def fleet(folder: Path) -> Iterator[Fleet]:
    """A ``Fleet`` whose processes are stopped on the way out; their logs are printed
    when the block fails (pytest shows them under the failure)."""
    started = Fleet(folder)
    try:
        yield started
    except BaseException:
        print(started.logs())
        raise
    finally:
        started.stop_all()


# ---------------------------------------------------------------- HTTP


@define
class Client:
    """JSON requests against one server with a bearer token."""

    session: aiohttp.ClientSession
    base_url: str
    token: str

    async def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.session.request(
            method, self.base_url + path, json=body, headers=headers
        ) as reply:
            payload = await reply.json(content_type=None) if reply.status != 204 else None
            return reply.status, payload

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        got, payload = await self.call(method, path, body)
        assert got == status, f"{method} {path} → {got}: {payload}"
        return payload

    async def data(self, path: str) -> Any:
        return (await self.ok("GET", path))["data"]

    async def total(self, path: str) -> int:
        """``meta.total`` of a list."""
        return int((await self.ok("GET", path))["meta"]["total"])

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
        async with self.session.get(url) as reply:
            assert reply.status == 200, f"GET {url} → {reply.status}"
            return await reply.read()


async def wait_for(
    check: Callable[[], Awaitable[T | None]], *, within: float, every: float = 0.2, what: str = ""
) -> T:
    """Call ``check`` until it returns something other than None (or False)."""
    deadline = time.monotonic() + within
    while True:
        found = await check()
        if found is not None and found is not False:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {within} s waiting for {what or check}")
        await asyncio.sleep(every)
