"""The transport: one aiohttp session, the bearer token, JSON, errors, retries.

Retried (with exponential backoff, honouring ``Retry-After``): connection errors,
``429``, ``503`` and ``409 idempotency_key_in_flight`` — for reads, PUT/PATCH/DELETE and
any POST that carries an ``Idempotency-Key``. A charging POST always carries one
(made here when the caller gives none) and every retry reuses it, so a retry after a
lost answer can never charge twice.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson

from .errors import ApiError, ServerUnreachable, error_for

__all__ = ["Http", "new_key"]

SAFE = frozenset({"GET", "PUT", "PATCH", "DELETE"})
RETRY_STATUSES = frozenset({429, 503})
USER_AGENT = "rankion-client/1"


def new_key() -> str:
    return uuid.uuid4().hex


def _retry_after(headers: Mapping[str, str]) -> float | None:
    try:
        return float(headers["Retry-After"])
    except (KeyError, ValueError):
        return None


class Http:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.retries = retries
        self.backoff = backoff
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._own_session = session is None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._own_session = True
        return self._session

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None

    def headers(self, key: str | None = None) -> dict[str, str]:
        sent = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.token:
            sent["Authorization"] = f"Bearer {self.token}"
        if key is not None:
            sent["Idempotency-Key"] = key
        return sent

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        key: str | None = None,
    ) -> Any:
        """The decoded JSON answer (None for 204); errors raise ``ApiError`` subclasses."""
        retryable = method in SAFE or key is not None
        payload = orjson.dumps(json) if json is not None else None
        for attempt in range(self.retries + 1):
            last = attempt == self.retries or not retryable
            try:
                return await self._once(method, path, payload, params, key)
            except ApiError as exc:
                if last or not _transient(exc):
                    raise
                await asyncio.sleep(exc.retry_after or self.backoff * 2**attempt)
            except aiohttp.ClientConnectorError as exc:  # nothing answered at all
                if last:
                    raise ServerUnreachable(self.base_url, str(exc.os_error)) from exc
                await asyncio.sleep(self.backoff * 2**attempt)
            except (aiohttp.ClientConnectionError, TimeoutError):
                if last:
                    raise
                await asyncio.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")

    async def _once(
        self, method: str, path: str, payload: bytes | None, params: Any, key: str | None
    ) -> Any:
        headers = self.headers(key)
        if payload is not None:
            headers["Content-Type"] = "application/json"
        async with self.session.request(
            method, self.base_url + path, data=payload, params=params, headers=headers
        ) as answer:
            raw = await answer.read()
            body = orjson.loads(raw) if raw else None
            if answer.status >= 400:
                raise error_for(
                    answer.status,
                    body,
                    answer.headers.get("X-Request-Id"),
                    _retry_after(answer.headers),
                )
            return body

    @asynccontextmanager
    async def stream(self, path: str) -> AsyncIterator[aiohttp.ClientResponse]:
        """A GET whose answer is read as it comes (Server-Sent Events)."""
        headers = self.headers()
        headers["Accept"] = "text/event-stream"
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with self.session.get(self.base_url + path, headers=headers, timeout=timeout) as r:
            if r.status >= 400:
                raw = await r.read()
                body = orjson.loads(raw) if raw else None
                raise error_for(r.status, body, r.headers.get("X-Request-Id"), None)
            yield r

    async def download(self, url: str, chunks: int = 1 << 16) -> AsyncIterator[bytes]:
        """A signed URL (images, export ZIPs), fetched without the token."""
        async with self.session.get(url) as answer:
            if answer.status >= 400:
                raise error_for(answer.status, None, answer.headers.get("X-Request-Id"), None)
            async for chunk in answer.content.iter_chunked(chunks):
                yield chunk


def _transient(exc: ApiError) -> bool:
    return exc.status in RETRY_STATUSES or exc.code == "idempotency_key_in_flight"
