"""The ``WebhookSender`` port over aiohttp: one signed POST, its outcome reported.

Every try goes through ``rankion_outbound``: the URL is checked again as aiohttp
reads it, and unless private targets are allowed (``ServerConfig.webhooks_allow_private``)
the connection is made only to public addresses, whether the host is a name or an IP
literal. Redirects are not followed: a ``3xx`` is a failed try. One try has a total
time limit (``timeout``, ``RANKION_WEBHOOK_TIMEOUT_SECONDS``): a receiver that never
answers, or answers a byte at a time, costs a delivery loop that long and no more.

The deliveries log must not map the network: a target that was refused and one that
could not be reached (no DNS answer, connection refused) read the same,
``CONNECT_FAILED``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from rankion_core.ports import SendResult

if TYPE_CHECKING:
    import aiohttp

__all__ = ["CONNECT_FAILED", "AiohttpWebhookSender"]

#: bytes of the receiver's answer that are read (and dropped)
ANSWER_LIMIT = 64 * 1024
#: the one error a try records when no connection to the target was made
CONNECT_FAILED = "could not connect to a public address of the webhook URL"


class AiohttpWebhookSender:
    def __init__(self, *, allow_private: bool = False, timeout: float = 10.0) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # lazily, like aiohttp: the admin commands never send
        from rankion_outbound import guarded_session

        if self._session is None or self._session.closed:
            self._session = guarded_session(
                allow_private=self.allow_private, timeout=self.timeout, limit=50
            )
        return self._session

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        import aiohttp

        from rankion_outbound import check_url

        started = time.perf_counter()
        try:
            target = check_url(url, allow_private=self.allow_private)
            async with asyncio.timeout(self.timeout):  # the whole try: resolve, send, answer
                async with self._client().post(
                    target, data=body, headers=dict(headers), allow_redirects=False
                ) as answer:
                    await answer.content.read(ANSWER_LIMIT)
                    return SendResult(answer.status, None, _ms(started))
        except TimeoutError:
            return SendResult(None, f"no answer within {self.timeout:g} s", _ms(started))
        except (aiohttp.ClientError, OSError) as exc:
            return SendResult(None, _describe(exc), _ms(started))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _describe(exc: BaseException) -> str:
    """What a try records: connecting failed (refused by the guard, or no connection
    made) always reads ``CONNECT_FAILED``; a failure after connecting is described."""
    import aiohttp

    from rankion_outbound import TargetRefused

    if isinstance(exc, aiohttp.ClientSSLError):
        return f"TLS: {exc}"[:300]
    if isinstance(
        exc, TargetRefused | aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError
    ):
        return CONNECT_FAILED
    return f"{type(exc).__name__}: {exc}"[:300]


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
