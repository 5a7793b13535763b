"""A small stand-in for OpenAI's Images API, served by aiohttp on 127.0.0.1.

``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits`` (multipart)
answer like the real thing, with a real picture of the requested size. With
``stream`` they answer in the Images API's server-sent events: ``partial_images``
frames of ``event: image_generation.partial_image`` (``image_edit.partial_image``
for edits), each a picture of its own colour, then one ``*.completed`` event with
the final picture. Values the real API refuses (``n`` outside 1..10,
``partial_images`` outside 0..3, ``output_compression`` outside 0..100 or with
png, an unknown ``moderation``, an ``input_fidelity`` the model does not take) are
``400`` in the real API's error shape (``invalid_request_error`` naming the
``param``). A test scripts what the next requests meet
(``fake.queue(rate_limited(), ok())``); an empty script means success. Every request
is recorded (path, headers, JSON body or multipart fields and files) so a test can
assert what the SDK actually sent.

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
    "FINAL_COLOUR",
    "Behaviour",
    "FakeOpenAI",
    "RecordedRequest",
    "UploadedFile",
    "invalid",
    "moderation_blocked",
    "ok",
    "partial_colour",
    "rate_limited",
    "refusal",
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


FINAL_COLOUR = (40, 120, 200)


def _picture(size: str, output_format: str, colour: tuple[int, int, int] = FINAL_COLOUR) -> bytes:
    width, height = (1024, 1024) if size in ("", "auto") else map(int, size.split("x"))
    out = io.BytesIO()
    image = Image.new("RGB", (width, height), colour)
    image.save(out, {"jpeg": "JPEG", "webp": "WEBP"}.get(output_format, "PNG"))
    return out.getvalue()


def partial_colour(index: int) -> tuple[int, int, int]:
    """The colour of partial image ``index``: never the final picture's."""
    return (200, 40 + 50 * index, 40)


#: the ``input_fidelity`` values each model takes (others: the option is unknown)
INPUT_FIDELITY = {
    "gpt-image-1": ("high", "low"),
    "gpt-image-1.5": ("high", "low"),
    "gpt-image-1-mini": ("low",),
}


def invalid(param: str, message: str, code: str) -> dict[str, Any]:
    """The real API's ``400`` body for a parameter it refuses."""
    return {"message": message, "type": "invalid_request_error", "param": param, "code": code}


def _integer(params: dict[str, str], name: str, low: int, high: int) -> dict[str, Any] | None:
    raw = params.get(name)
    if raw is None:
        return None
    value = int(raw)
    if value > high:
        text = (
            f"Invalid '{name}': integer above maximum value. "
            f"Expected a value <= {high}, but got {value} instead."
        )
        return invalid(name, text, "integer_above_max_value")
    if value < low:
        text = (
            f"Invalid '{name}': integer below minimum value. "
            f"Expected a value >= {low}, but got {value} instead."
        )
        return invalid(name, text, "integer_below_min_value")
    return None


def _one_of(params: dict[str, str], name: str, allowed: tuple[str, ...]) -> dict[str, Any] | None:
    value = params.get(name)
    if value is None or value in allowed:
        return None
    supported = " and ".join(f"'{a}'" for a in allowed)
    text = f"Invalid value: '{value}'. Supported values are: {supported}."
    return invalid(name, text, "invalid_value")


def refusal(params: dict[str, str]) -> dict[str, Any] | None:
    """The ``400`` error the real API answers ``params`` with, or None."""
    found = (
        _integer(params, "n", 1, 10)
        or _integer(params, "partial_images", 0, 3)
        or _integer(params, "output_compression", 0, 100)
        or _one_of(params, "moderation", ("low", "auto"))
    )
    if found:
        return found
    if "output_compression" in params and params.get("output_format", "png") == "png":
        text = "output_compression is only supported for the jpeg and webp output formats."
        return invalid("output_compression", text, "invalid_value")
    if "input_fidelity" in params:
        allowed = INPUT_FIDELITY.get(params.get("model", "gpt-image-1"), ())
        if not allowed:
            text = "Unknown parameter: 'input_fidelity'."
            return invalid("input_fidelity", text, "unknown_parameter")
        return _one_of(params, "input_fidelity", allowed)
    return None


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
        #: seconds between two streamed partial images
        self.frame_delay = 0.0
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

    async def _generations(self, request: web.Request) -> web.StreamResponse:
        record = self._record(request)
        record.json = await request.json()
        body = record.json or {}
        params = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in body.items()}
        return await self._answer(request, params, "image_generation")

    async def _edits(self, request: web.Request) -> web.StreamResponse:
        record = self._record(request)
        await _read_multipart(request, record)
        return await self._answer(request, dict(record.fields), "image_edit")

    async def _answer(
        self, request: web.Request, params: dict[str, str], events: str
    ) -> web.StreamResponse:
        behaviour = self.script.popleft() if self.script else ok()
        if behaviour.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), behaviour.delay)
        size, output_format = params.get("size", "auto"), params.get("output_format", "png")
        refused = refusal(params) if behaviour.error is None else None
        if refused is not None:
            behaviour = Behaviour(status=400, error=refused)
        if behaviour.error is not None:
            payload: dict[str, Any] = {"error": behaviour.error}
        elif params.get("stream") == "true":
            return await self._stream(request, params, events, behaviour)
        else:
            payload = _success(size, output_format, behaviour)
        return web.Response(
            status=behaviour.status,
            text=json.dumps(payload),
            content_type="application/json",
            headers=behaviour.headers,
        )

    async def _stream(
        self, request: web.Request, params: dict[str, str], events: str, behaviour: Behaviour
    ) -> web.StreamResponse:
        """The Images API's streaming answer: partial images, then the completed one."""
        size, output_format = params.get("size", "auto"), params.get("output_format", "png")
        common = {
            "created_at": int(time.time()),
            "size": size,
            "quality": params.get("quality", "auto"),
            "background": params.get("background", "auto"),
            "output_format": output_format,
        }
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream; charset=utf-8", **behaviour.headers}
        )
        await response.prepare(request)
        for index in range(int(params.get("partial_images", "0"))):
            frame = _picture(size, output_format, partial_colour(index))
            event = {
                "type": f"{events}.partial_image",
                "b64_json": base64.b64encode(frame).decode(),
                "partial_image_index": index,
                **common,
            }
            await response.write(_sse(event))
            await asyncio.sleep(self.frame_delay)
        done = _success(size, output_format, behaviour)
        entry = done["data"][0]
        completed = {"type": f"{events}.completed", **entry, "usage": done["usage"], **common}
        await response.write(_sse(completed))
        await response.write_eof()
        return response


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
