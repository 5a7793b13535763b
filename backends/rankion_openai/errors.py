"""The OpenAI SDK's exceptions, translated into Rankion's two provider errors.

* A final refusal (content policy, bad request, unknown model, bad key) is
  ``ProviderRejected`` with the API's own ``error.message`` when it sent one.
* Anything worth trying again later (429, 408/409, 5xx, connection trouble,
  timeouts, a malformed answer) is ``ProviderUnavailable``, with ``retry_after``
  when the server said how long to wait. The SDK has already retried these
  ``max_retries`` times by the time they arrive here.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

from rankion_core.errors import ProviderRejected, ProviderUnavailable, RankionError

__all__ = ["parse_retry_after", "readable_message", "translate"]

_MAX_MESSAGE = 500
_KEY_REFUSED = "the image provider refused the API key"


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait per ``retry-after-ms`` / ``retry-after`` (seconds or HTTP date)."""
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            parsed = email.utils.parsedate_tz(value) if divisor == 1.0 else None
            if parsed is None:
                continue
            seconds = email.utils.mktime_tz(parsed) - time.time()
        if seconds == seconds and seconds != float("inf"):  # not NaN, not infinite
            return max(0.0, seconds)
    return None


def readable_message(body: object, status: int) -> str:
    """The API's ``error.message`` (the SDK hands us the inner ``error`` object), clipped,
    after the ``param`` it names when the message does not say it; a plain sentence
    naming the status when there is none."""
    if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
        body = body["error"]
    message = body.get("message") if isinstance(body, Mapping) else None
    param = body.get("param") if isinstance(body, Mapping) else None
    if isinstance(message, str) and message.strip():
        text = " ".join(message.split())
        if isinstance(param, str) and param.isidentifier() and param not in text:
            text = f"{param}: {text}"
        return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"
    return f"the image provider rejected the request (HTTP {status})"


def _from_status(status: int, body: object, headers: Mapping[str, str]) -> RankionError:
    if status in (401, 403):
        return ProviderRejected(_KEY_REFUSED)
    if status == 429:
        return ProviderUnavailable(
            "the image provider is rate limiting requests; try again later",
            retry_after=parse_retry_after(headers),
        )
    if status in (408, 409) or status >= 500:
        return ProviderUnavailable(
            f"the image provider is unavailable (HTTP {status})",
            retry_after=parse_retry_after(headers),
        )
    return ProviderRejected(readable_message(body, status))


def translate(exc: BaseException, sdk: Any) -> RankionError:
    """``exc`` (raised by the ``openai`` module ``sdk``) as a Rankion error."""
    if isinstance(exc, sdk.APITimeoutError | TimeoutError):
        return ProviderUnavailable("the image provider did not answer in time")
    if isinstance(exc, sdk.APIConnectionError):
        return ProviderUnavailable("could not reach the image provider")
    if isinstance(exc, sdk.APIStatusError):
        return _from_status(exc.status_code, exc.body, exc.response.headers)
    return ProviderUnavailable("the image provider sent an answer that could not be read")
