"""``Client`` (async) and ``SyncClient`` (the same calls, blocking).

async with Client("http://127.0.0.1:8080", token) as client:
    queued = await client.images.generate("a lighthouse at dusk")
    image = await client.images.wait_ready(queued.image_id)
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import os
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from types import TracebackType
from typing import Any, Self

import aiohttp

from .http import Http
from .models import HealthOut
from .resources import (
    Calendar,
    Chat,
    Credits,
    Exports,
    Images,
    Jobs,
    Projects,
    Tokens,
    Webhooks,
)

__all__ = ["Client", "SyncClient"]

DEFAULT_URL = "http://127.0.0.1:8080"


def server_and_token(url: str | None = None, token: str | None = None) -> tuple[str, str | None]:
    """``url`` and ``token``, else ``RANKION_URL`` (else ``DEFAULT_URL``) and
    ``RANKION_TOKEN``: the one place the client reads the environment (the rows of
    docs/settings.md that say "the client")."""
    url = url or os.environ.get("RANKION_URL") or DEFAULT_URL
    return url, token if token is not None else os.environ.get("RANKION_TOKEN") or None


class Client:
    """Every endpoint of the contract, grouped by resource; errors are ``ApiError``s."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        url, token = server_and_token(base_url, token)
        self.http = Http(url, token, timeout=timeout, retries=retries, session=session)
        self.images = Images(self.http)
        self.exports = Exports(self.http)
        self.jobs = Jobs(self.http)
        self.calendar = Calendar(self.http)
        self.projects = Projects(self.http)
        self.credits = Credits(self.http)
        self.chat = Chat(self.http)
        self.webhooks = Webhooks(self.http)
        self.tokens = Tokens(self.http)

    async def health(self) -> HealthOut:
        return await self.images._get("/healthz", HealthOut)

    async def openapi(self) -> dict[str, Any]:
        return await self.http.call("GET", "/v1/openapi.json")  # type: ignore[no-any-return]

    async def close(self) -> None:
        await self.http.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class _Blocking:
    """A resource whose coroutine methods run to completion on the client's loop and
    whose async iterators become plain iterators."""

    def __init__(self, inner: Any, runner: asyncio.Runner) -> None:
        self._inner = inner
        self._runner = runner

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr) or name.startswith("_"):
            return attr
        return functools.wraps(attr)(self._wrap(attr))

    def _wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            result = fn(*args, **kwargs)
            if inspect.isasyncgen(result) or isinstance(result, AsyncIterator):
                return self._iterate(result)
            if inspect.isawaitable(result):
                return self._runner.run(_awaited(result))
            return result

        return call

    def _iterate(self, items: AsyncIterator[Any]) -> Iterator[Any]:
        while True:
            try:
                yield self._runner.run(anext(items))  # type: ignore[arg-type]
            except StopAsyncIteration:
                return


async def _awaited(value: Any) -> Any:
    return await value


class SyncClient:
    """The async client's calls, blocking: ``SyncClient(url, token).images.get(1)``.

    Each method returns what its async twin returns; iterators are plain iterators.
    Use it from synchronous code only (it runs its own event loop). ``with`` or
    ``close()`` releases the connection at once; a client never closed closes itself
    when it is garbage-collected or the interpreter exits.
    """

    def __init__(self, base_url: str | None = None, token: str | None = None, **options: Any):
        self._runner = asyncio.Runner()
        self._client = Client(base_url, token, **options)
        wrap = functools.partial(_Blocking, runner=self._runner)
        self.images: Any = wrap(self._client.images)
        self.exports: Any = wrap(self._client.exports)
        self.jobs: Any = wrap(self._client.jobs)
        self.calendar: Any = wrap(self._client.calendar)
        self.projects: Any = wrap(self._client.projects)
        self.credits: Any = wrap(self._client.credits)
        self.chat: Any = wrap(self._client.chat)
        self.webhooks: Any = wrap(self._client.webhooks)
        self.tokens: Any = wrap(self._client.tokens)
        self._closer = weakref.finalize(self, _close, self._runner, self._client)

    def health(self) -> HealthOut:
        return self._runner.run(self._client.health())

    def close(self) -> None:
        self._closer()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _close(runner: asyncio.Runner, client: Client) -> None:
    """Close the session on the client's own loop, then the loop (once)."""
    try:
        runner.run(client.close())
    finally:
        runner.close()
