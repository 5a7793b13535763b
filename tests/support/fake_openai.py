"""A small stand-in for OpenAI's Images API, served by aiohttp on 127.0.0.1.

``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits`` (multipart)
answer like the real thing, with a real picture of the requested size. A test
scripts what the next requests meet (``fake.queue(rate_limited(), ok())``); an
empty script means success. Every request is recorded (path, headers, JSON body or
multipart fields and files) so a test can assert what the SDK actually sent.

    async with FakeOpenAI() as fake:
        client = AsyncOpenAI(base_url=fake.base_url, api_key="test")
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import socket
import time
from collections import deque
from types import TracebackType
from typing import Any, Self

from aiohttp import BodyPartReader, web
from attrs import define, field
from PIL import Image

__all__ = [
    "Behaviour",
    "FakeOpenAI",
    "RecordedRequest",
    "UploadedFile",
    "moderation_blocked",
    "ok",
    "rate_limited",
    "server_error",
    "slow",
]

MODERATION_MESSAGE = "Your request was rejected as a result of our safety system."


@define(frozen=True)
class Behaviour:
    """What one request meets: a status, an optional error body, headers, a delay."""

    status: int = 200
    error: dict[str, Any] | None = None
    headers: dict[str, str] = field(factory=dict)
    delay: float = 0.0
    #: the success answer's ``data`` entry without its image (tests of odd answers)
    empty: bool = False
    #: answer with this ``url`` instead of ``b64_json``
    url: str | None = None


def ok(delay: float = 0.0) -> Behaviour:
    return Behaviour(delay=delay)


def moderation_blocked() -> Behaviour:
    return Behaviour(
        status=400,
        error={
            "message": MODERATION_MESSAGE,
            "type": "image_generation_user_error",
            "code": "moderation_blocked",
            "param": None,
        },
    )


def rate_limited(retry_after: float = 0.1) -> Behaviour:
    return Behaviour(
        status=429,
        error={"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"},
        headers={"retry-after": str(retry_after)},
    )


def server_error(retry_after: float | None = 0.05) -> Behaviour:
    headers = {} if retry_after is None else {"retry-after": str(retry_after)}
    return Behaviour(
        status=500,
        error={"message": "The server had an error", "type": "server_error", "code": None},
        headers=headers,
    )


def slow(seconds: float) -> Behaviour:
    """Answers successfully, but only after ``seconds`` (cut short when the fake closes)."""
    return Behaviour(delay=seconds)


@define(frozen=True)
class UploadedFile:
    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.data)


@define
class RecordedRequest:
    path: str
    headers: dict[str, str]
    json: dict[str, Any] | None = None
    fields: dict[str, str] = field(factory=dict)
    files: dict[str, UploadedFile] = field(factory=dict)


def _picture(size: str, output_format: str) -> bytes:
    width, height = (1024, 1024) if size in ("", "auto") else map(int, size.split("x"))
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), (40, 120, 200))
    image.save(out, {"jpeg": "JPEG", "webp": "WEBP"}.get(output_format, "PNG"))
    return out.getvalue()


def _entry(size: str, output_format: str, behaviour: Behaviour) -> dict[str, str]:
    if behaviour.empty:
        return {}
    if behaviour.url is not None:
        return {"url": behaviour.url}
    return {"b64_json": base64.b64encode(_picture(size, output_format)).decode()}


def _success(size: str, output_format: str, behaviour: Behaviour) -> dict[str, Any]:
    entry = _entry(size, output_format, behaviour)
    return {
        "created": int(time.time()),
        "data": [entry],
        "output_format": output_format,
        "usage": {
            "total_tokens": 100,
            "input_tokens": 50,
            "output_tokens": 50,
            "input_tokens_details": {"text_tokens": 10, "image_tokens": 40},
        },
    }


async def _read_multipart(request: web.Request, record: RecordedRequest) -> None:
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        data = await part.read()
        if part.filename is not None:
            content_type = part.headers.get("Content-Type")
            record.files[part.name] = UploadedFile(part.filename, content_type, bytes(data))
        else:
            record.fields[part.name] = bytes(data).decode()


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self.script: deque[Behaviour] = deque()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/v1"

    def queue(self, *behaviours: Behaviour) -> None:
        self.script.extend(behaviours)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/images/generations", self._generations)
        app.router.add_post("/v1/images/edits", self._edits)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def close(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _record(self, request: web.Request) -> RecordedRequest:
        headers = {k.lower(): v for k, v in request.headers.items()}
        record = RecordedRequest(path=request.path, headers=headers)
        self.requests.append(record)
        return record

    async def _generations(self, request: web.Request) -> web.Response:
        record = self._record(request)
        record.json = await request.json()
        body = record.json or {}
        size, output_format = body.get("size", "auto"), body.get("output_format", "png")
        return await self._answer(str(size), str(output_format))

    async def _edits(self, request: web.Request) -> web.Response:
        record = self._record(request)
        await _read_multipart(request, record)
        fields = record.fields
        return await self._answer(fields.get("size", "auto"), fields.get("output_format", "png"))

    async def _answer(self, size: str, output_format: str) -> web.Response:
        behaviour = self.script.popleft() if self.script else ok()
        if behaviour.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), behaviour.delay)
        if behaviour.error is not None:
            payload: dict[str, Any] = {"error": behaviour.error}
        else:
            payload = _success(size, output_format, behaviour)
        return web.Response(
            status=behaviour.status,
            text=json.dumps(payload),
            content_type="application/json",
            headers=behaviour.headers,
        )
