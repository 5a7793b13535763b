"""Pure fakes of the non-storage ports, so core tests import no I/O library."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from datetime import datetime

from rankion_core.errors import Invalid, NotFound, ProviderRejected, ProviderUnavailable
from rankion_core.ports import (
    EditSpec,
    EncodedRendition,
    GenerateSpec,
    ImageInfo,
    ModelCapabilities,
    PreviewSink,
    ProviderImage,
    WebReady,
)

MAGIC = b"FAKEIMG:"


class FakeBlobStore:
    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    async def put(self, data: bytes, *, kind: str, ext: str, content_type: str) -> str:
        key = f"{kind}/{uuid.uuid4().hex}.{ext}"
        self.blobs[key] = data
        return key

    async def put_stream(
        self, chunks: AsyncIterable[bytes], *, kind: str, ext: str, content_type: str
    ) -> tuple[str, int]:
        data = b"".join([c async for c in chunks])
        return await self.put(data, kind=kind, ext=ext, content_type=content_type), len(data)

    async def get(self, key: str) -> bytes:
        if key not in self.blobs:
            raise NotFound("blob")
        return self.blobs[key]

    async def stream(self, key: str, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        data = await self.get(key)
        for i in range(0, len(data), chunk_size):
            yield data[i : i + chunk_size]

    async def delete(self, key: str) -> None:
        self.blobs.pop(key, None)

    async def exists(self, key: str) -> bool:
        return key in self.blobs

    async def keys(self) -> AsyncIterator[str]:
        for key in list(self.blobs):
            yield key

    def presign(self, key: str, *, expires_at: datetime, filename: str | None = None) -> str | None:
        return None

    def local_file(self, key: str) -> str | None:
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class FakeProvider:
    """Deterministic bytes; ``[reject]`` and ``[flaky]`` in a prompt fail it."""

    name = "fake"
    default_model = "fake-1"
    capabilities = (
        ModelCapabilities(
            id="fake-1",
            sizes=("256x256", "1024x1024"),
            max_n=4,
            partial_images=3,
            input_fidelity=("high", "low"),
            moderation=("auto", "low"),
            output_compression=True,
        ),
    )

    def __init__(self) -> None:
        self.calls = 0

    def _check(self, prompt: str) -> None:
        self.calls += 1
        if "[reject]" in prompt:
            raise ProviderRejected("rejected by the content policy")
        if "[flaky]" in prompt:
            raise ProviderUnavailable("provider is down")

    async def generate(
        self, spec: GenerateSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        self._check(spec.prompt)
        return ProviderImage(MAGIC + f"{spec.size}:{spec.prompt}".encode())

    async def edit(
        self, source: bytes, spec: EditSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        self._check(spec.prompt)
        digest = hashlib.sha256(source).hexdigest()[:8]
        return ProviderImage(MAGIC + f"{spec.size}:{digest}:{spec.prompt}".encode())

    async def close(self) -> None:
        return None


class FakeCodec:
    max_bytes = 1 << 20

    def inspect(self, data: bytes) -> ImageInfo:
        if not data.startswith(MAGIC):
            raise Invalid("not an image")
        w, h = data[len(MAGIC) :].split(b":", 1)[0].split(b"x")
        return ImageInfo(int(w), int(h), "image/png", "png")

    def thumbnail(self, data: bytes, max_side: int = 256) -> bytes:
        return b"THUMB:" + data[:32]

    def web_ready(
        self, data: bytes, sizes: Sequence[tuple[int, int]], formats: Sequence[str]
    ) -> WebReady:
        digest = hashlib.sha256(data).digest()
        made = [
            EncodedRendition(fmt, w, h, f"{fmt}:{w}x{h}:".encode() + data[:16])
            for w, h in sizes
            for fmt in formats
        ]
        return WebReady(
            placeholder="FAKE" + digest[:6].hex(),
            phash=int.from_bytes(digest[:8], "big"),
            public=None,
            renditions=made,
        )

    def check_mask(self, data: bytes, width: int, height: int) -> None:
        if not data.startswith(b"MASK"):
            raise Invalid("mask must be a PNG with transparency", details={"mask": "not a PNG"})
