"""``OpenAIProvider``: the ``ImageProvider`` port on the official ``openai`` SDK.

Generations and edits go to the Images API with GPT image models, which answer
with base64 (``b64_json``). Each call asks for one image (``n=1``: every image of a
request is its own job). The generation options are passed on as the API names them
(``output_compression``, ``moderation``, ``input_fidelity``), only when asked for.
With ``partial_images`` and a preview sink, the call streams (``stream=True``): each
``*.partial_image`` event goes to the sink, and only the ``*.completed`` event's
image is returned. The SDK does not retry (``max_retries`` 0 unless
configured): a 429/5xx/timeout is translated by ``errors.translate`` into
``ProviderUnavailable`` (with the ``retry-after`` hint), and the job queue retries it,
each attempt billed at most once. An answer without image data is ``ProviderUnavailable``:
nothing says the next attempt would fail too, and the job's attempts are bounded.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from rankion_core.errors import ProviderUnavailable
from rankion_core.ports import (
    EditSpec,
    GenerateSpec,
    ImageProvider,
    ModelCapabilities,
    PreviewSink,
    ProviderImage,
)

from .config import OpenAIConfig, load_config
from .errors import translate
from .fetch import fetch_image
from .models import capabilities_of

__all__ = ["OpenAIProvider", "open_provider"]

_INSTALL_HINT = "the openai provider needs the openai SDK: pip install 'rankion[openai]'"
_UPLOAD_TYPES = {b"\x89PNG": ("png", "image/png"), b"\xff\xd8\xff": ("jpg", "image/jpeg")}


def load_sdk() -> Any:
    """The ``openai`` module, imported on first use."""
    try:
        import openai
    except ImportError as exc:
        raise ImportError(_INSTALL_HINT) from exc
    return openai


def _upload(name: str, data: bytes) -> tuple[str, bytes, str]:
    """A multipart file part, named with the extension its bytes call for."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        ext, mime = "webp", "image/webp"
    else:
        ext, mime = next(
            (v for magic, v in _UPLOAD_TYPES.items() if data.startswith(magic)),
            ("png", "image/png"),
        )
    return (f"{name}.{ext}", data, mime)


def _asked(**params: Any) -> dict[str, Any]:
    """The call's parameters without those left unset (the API's defaults apply)."""
    return {k: v for k, v in params.items() if v is not None}


class OpenAIProvider:
    # annotated as the port declares them: Protocol attributes are invariant
    name: str = "openai"
    default_model: str
    capabilities: Sequence[ModelCapabilities]

    def __init__(self, config: OpenAIConfig, *, client: Any = None) -> None:
        self.config = config
        self.default_model = config.default_model
        self.capabilities = tuple(capabilities_of(model) for model in config.models)
        self._sdk = load_sdk()
        self._client = client or self._sdk.AsyncOpenAI(
            api_key=config.api_key,
            base_url=config.base_url,
            timeout=config.timeout,
            max_retries=config.max_retries,
        )

    async def generate(
        self, spec: GenerateSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        params = _asked(
            prompt=spec.prompt,
            model=spec.model or self.default_model,
            size=spec.size,
            quality=spec.quality,
            output_format=spec.output_format,
            n=1,
            background=spec.background,
            output_compression=spec.output_compression,
            moderation=spec.moderation,
        )
        return await self._make(self._client.images.generate, params, spec.partial_images, previews)

    async def edit(
        self, source: bytes, spec: EditSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        params = _asked(
            image=_upload("image", source),
            prompt=spec.prompt,
            model=spec.model or self.default_model,
            size=spec.size,
            quality=spec.quality,
            output_format=spec.output_format,
            n=1,
            mask=_upload("mask", spec.mask) if spec.mask is not None else None,
            input_fidelity=spec.input_fidelity,
        )
        return await self._make(self._client.images.edit, params, spec.partial_images, previews)

    async def _make(
        self,
        method: Callable[..., Awaitable[Any]],
        params: dict[str, Any],
        partial_images: int,
        previews: PreviewSink | None,
    ) -> ProviderImage:
        if partial_images > 0 and previews is not None:
            return await self._streamed(method, params, partial_images, previews)
        return await self._picture(await self._call(method, **params))

    async def _streamed(
        self,
        method: Callable[..., Awaitable[Any]],
        params: dict[str, Any],
        partial_images: int,
        previews: PreviewSink,
    ) -> ProviderImage:
        """One streaming call: partial images to ``previews`` (at most
        ``partial_images``, indexed from 0 in the order they came), the completed
        image returned."""
        final: bytes | None = None
        sent = 0
        try:
            async with asyncio.timeout(self.config.deadline):
                stream = await method(**params, stream=True, partial_images=partial_images)
                async with stream:
                    async for event in stream:
                        kind = str(getattr(event, "type", ""))
                        if kind.endswith(".partial_image") and sent < partial_images:
                            await previews(sent, _decoded(event.b64_json))
                            sent += 1
                        elif kind.endswith(".completed"):
                            final = _decoded(event.b64_json)
        except (self._sdk.OpenAIError, TimeoutError) as exc:
            raise translate(exc, self._sdk) from exc
        if not final:
            raise ProviderUnavailable("the image provider's stream ended without an image")
        return ProviderImage(data=final)

    async def close(self) -> None:
        await self._client.close()

    async def _call(self, method: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        try:
            async with asyncio.timeout(self.config.deadline):
                return await method(**kwargs)
        except (self._sdk.OpenAIError, TimeoutError) as exc:
            raise translate(exc, self._sdk) from exc

    async def _picture(self, response: Any) -> ProviderImage:
        item: Any = response.data[0] if response.data else None
        data = await self._bytes(item) if item is not None else b""
        if not data:
            raise ProviderUnavailable("the image provider answered without an image")
        return ProviderImage(data=data, revised_prompt=item.revised_prompt)

    async def _bytes(self, item: Any) -> bytes:
        """The image of one answer entry: base64 inline, or a URL fetched through the guard."""
        if item.b64_json:
            return _decoded(item.b64_json)
        if item.url:
            allowlist, limit = self.config.url_allowlist, self.config.timeout
            return await fetch_image(item.url, allowlist=allowlist, time_limit=limit)
        return b""


def _decoded(b64: object) -> bytes:
    try:
        return base64.b64decode(str(b64 or ""), validate=True)
    except (binascii.Error, ValueError):
        raise ProviderUnavailable("the image provider sent unreadable image data") from None


def open_provider(**options: Any) -> OpenAIProvider:
    """Entry point ``rankion.providers:openai``; see ``load_config`` for the options."""
    return OpenAIProvider(load_config(options))


if TYPE_CHECKING:  # mypy proves the class fits the port structurally

    def _fits_the_port(implementation: OpenAIProvider) -> ImageProvider:
        return implementation
