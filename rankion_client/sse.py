"""A small Server-Sent Events reader: ``(event, data)`` per frame, comments skipped."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp

__all__ = ["read_events"]


async def read_events(response: aiohttp.ClientResponse) -> AsyncIterator[tuple[str, str]]:
    event, data = "message", list[str]()
    async for raw in response.content:
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if data:
                yield event, "\n".join(data)
            event, data = "message", list[str]()
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
