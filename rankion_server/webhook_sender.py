"""The ``WebhookSender`` port over aiohttp: one signed POST, its outcome reported.

Unless private targets are allowed (``ServerConfig.webhooks_allow_private``), the
address checks of ``rankion_openai.fetch`` guard every try: an IP-literal host must
be public, and a hostname is resolved through ``GuardedResolver``, so the connection
goes only to addresses that were checked (no DNS rebinding between check and
connect). Redirects are not followed: a ``3xx`` is a failed try. One try has a total
time limit (``timeout``, ``RANKION_WEBHOOK_TIMEOUT_SECONDS``): a receiver that never
answers, or answers a byte at a time, costs a delivery loop that long and no more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from rankion_core.errors import ProviderRejected
from rankion_core.webhooks import SendResult

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AiohttpWebhookSender"]

#: bytes of the receiver's answer that are read (and dropped)
ANSWER_LIMIT = 64 * 1024


class AiohttpWebhookSender:
    def __init__(self, *, allow_private: bool = False, timeout: float = 10.0) -> None:
        self.allow_private = allow_private
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        import aiohttp  # lazily: the admin commands never send

        if self._session is None or self._session.closed:
            from rankion_openai.fetch import GuardedResolver

            resolver = None if self.allow_private else GuardedResolver()
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(resolver=resolver, limit=50),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    def _check_target(self, url: str) -> None:
        if self.allow_private:
            return
        from rankion_openai.fetch import check_address

        host = (urlsplit(url).hostname or "").strip("[]")
        if _is_ip(host):  # aiohttp connects to IP literals without asking the resolver
            check_address(host)

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        import aiohttp

        started = time.perf_counter()
        try:
            self._check_target(url)
            async with asyncio.timeout(self.timeout):  # the whole try: resolve, send, answer
                async with self._client().post(
                    url, data=body, headers=dict(headers), allow_redirects=False
                ) as answer:
                    await answer.content.read(ANSWER_LIMIT)
                    return SendResult(answer.status, None, _ms(started))
        except TimeoutError:
            return SendResult(None, f"no answer within {self.timeout:g} s", _ms(started))
        except ProviderRejected as exc:
            message = exc.message.replace("fetch the provider's image URL", "deliver")
            return SendResult(None, message, _ms(started))
        except (aiohttp.ClientError, OSError) as exc:
            return SendResult(None, f"{type(exc).__name__}: {exc}"[:300], _ms(started))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
