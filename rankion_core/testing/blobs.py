"""The ``BlobStore`` contract: bytes by key, keys made by the store.

Subclass ``BlobStoreContract`` and implement ``make_blob_store`` (an empty store, new
for each test). A store may raise the core's errors only: ``NotFound`` for a key it
does not hold (or could not have made: a key is never a path from the outside),
``Invalid`` for a bad kind, extension, chunk size or expiry, ``Unavailable`` once
closed or when its service is down.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import ClassVar, TypeVar

import pytest
import pytest_asyncio

from rankion_core.errors import Invalid, NotFound, Unavailable
from rankion_core.ports import BlobStore

T = TypeVar("T")
MiB = 1 << 20
A_KEY = f"images/2024/01/{'a' * 32}.png"  # well-formed, never stored
BAD_KEYS = [
    "../x",
    "/etc/passwd",
    "images/../../x",
    "images/2024/01/../../../x.png",
    f"images\\2024\\01\\{'a' * 32}.png",
    f"/images/2024/01/{'a' * 32}.png",
    f"images/2024/01/{'a' * 32}.png\n",
    f"Images/2024/01/{'a' * 32}.png",
    "",
]
BAD_KINDS = ["", "Images", "1images", "a" * 33, "a/b", "../x", "a.b", "ïmages"]
BAD_EXTS = ["", "PNG", "toolongex", "p/g", ".png", "p g"]


class Boom(Exception):
    """An error of the caller's own chunk iterator."""


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def collect(items: AsyncIterable[T]) -> list[T]:
    return [item async for item in items]


async def put(store: BlobStore, data: bytes = b"bytes") -> str:
    return await store.put(data, kind="images", ext="png", content_type="image/png")


def in_an_hour() -> datetime:
    return datetime.now(UTC) + timedelta(hours=1)


class BlobStoreContract:
    """Every blob store test: subclass it and implement ``make_blob_store``."""

    pytestmark = [pytest.mark.asyncio]
    request: pytest.FixtureRequest
    #: what ``put_stream`` must store in one go (above any part size of your own)
    large_blob_size: ClassVar[int] = 21 * MiB + 7

    async def make_blob_store(self) -> BlobStore:
        raise NotImplementedError(f"{type(self).__name__} must implement make_blob_store()")

    @pytest_asyncio.fixture
    async def blob_store(self, request: pytest.FixtureRequest) -> AsyncIterator[BlobStore]:
        self.request = request
        store = await self.make_blob_store()
        try:
            yield store
        finally:
            await store.close()

    async def test_put_then_get_returns_the_bytes(self, blob_store: BlobStore) -> None:
        data = os.urandom(1000)
        key = await put(blob_store, data)
        assert await blob_store.get(key) == data

    async def test_an_empty_blob_is_a_blob(self, blob_store: BlobStore) -> None:
        key = await put(blob_store, b"")
        assert await blob_store.get(key) == b""
        assert await collect(blob_store.stream(key)) == []

    async def test_stream_yields_chunks_of_the_asked_size(self, blob_store: BlobStore) -> None:
        data = os.urandom(5 * MiB + 123)
        key = await put(blob_store, data)
        chunks = await collect(blob_store.stream(key, chunk_size=MiB))
        assert [len(chunk) for chunk in chunks] == [MiB] * 5 + [123]
        assert b"".join(chunks) == data

    async def test_stream_of_one_chunk_or_less(self, blob_store: BlobStore) -> None:
        for size in (1, 123, MiB):
            data = os.urandom(size)
            key = await put(blob_store, data)
            assert await collect(blob_store.stream(key, chunk_size=MiB)) == [data]

    async def test_put_stream_stores_many_chunks(self, blob_store: BlobStore) -> None:
        data = os.urandom(self.large_blob_size)
        key, size = await blob_store.put_stream(
            chunks_of(data, 64 * 1024), kind="exports", ext="zip", content_type="application/zip"
        )
        assert size == len(data)
        assert key.startswith("exports/")
        assert key.endswith(".zip")
        assert await blob_store.get(key) == data

    async def test_deleted_blob_is_not_found(self, blob_store: BlobStore) -> None:
        key = await put(blob_store)
        await blob_store.delete(key)
        with pytest.raises(NotFound):
            await blob_store.get(key)
        with pytest.raises(NotFound):
            await collect(blob_store.stream(key))
        assert not await blob_store.exists(key)

    async def test_missing_blob_is_not_found_and_deleting_it_is_fine(
        self, blob_store: BlobStore
    ) -> None:
        with pytest.raises(NotFound):
            await blob_store.get(A_KEY)
        with pytest.raises(NotFound):
            await collect(blob_store.stream(A_KEY))
        await blob_store.delete(A_KEY)

    async def test_exists(self, blob_store: BlobStore) -> None:
        key = await put(blob_store)
        assert await blob_store.exists(key)
        assert not await blob_store.exists(A_KEY)

    async def test_keys_lists_what_was_put(self, blob_store: BlobStore) -> None:
        assert await collect(blob_store.keys()) == []
        images = {await put(blob_store) for _ in range(3)}
        export, _ = await blob_store.put_stream(
            chunks_of(b"zip", 1), kind="exports", ext="zip", content_type="application/zip"
        )
        assert set(await collect(blob_store.keys())) == images | {export}

    @pytest.mark.parametrize("key", BAD_KEYS)
    async def test_keys_the_store_cannot_have_made_do_not_exist(
        self, blob_store: BlobStore, key: str
    ) -> None:
        with pytest.raises(NotFound):
            await blob_store.get(key)
        with pytest.raises(NotFound):
            await collect(blob_store.stream(key))
        with pytest.raises(NotFound):
            await blob_store.delete(key)
        with pytest.raises(NotFound):
            blob_store.presign(key, expires_at=in_an_hour())
        assert not await blob_store.exists(key)

    @pytest.mark.parametrize("kind", BAD_KINDS)
    async def test_bad_kind_is_invalid(self, blob_store: BlobStore, kind: str) -> None:
        with pytest.raises(Invalid):
            await blob_store.put(b"x", kind=kind, ext="png", content_type="image/png")
        with pytest.raises(Invalid):
            await blob_store.put_stream(
                chunks_of(b"x", 1), kind=kind, ext="png", content_type="image/png"
            )
        assert await collect(blob_store.keys()) == []

    @pytest.mark.parametrize("ext", BAD_EXTS)
    async def test_bad_ext_is_invalid(self, blob_store: BlobStore, ext: str) -> None:
        with pytest.raises(Invalid):
            await blob_store.put(b"x", kind="images", ext=ext, content_type="image/png")
        assert await collect(blob_store.keys()) == []

    async def test_a_failing_source_stores_nothing_and_its_error_comes_out(
        self,
        blob_store: BlobStore,
    ) -> None:
        async def failing() -> AsyncIterator[bytes]:
            for _ in range(3):
                yield os.urandom(4 * MiB)  # past one S3 part: a multipart upload is under way
            raise Boom("the client hung up")

        with pytest.raises(Boom, match="hung up"):
            await blob_store.put_stream(
                failing(), kind="images", ext="png", content_type="image/png"
            )
        assert await collect(blob_store.keys()) == []

    async def test_stream_chunk_size_must_be_positive(self, blob_store: BlobStore) -> None:
        key = await put(blob_store)
        with pytest.raises(Invalid):
            await collect(blob_store.stream(key, chunk_size=0))

    async def test_presign(self, blob_store: BlobStore) -> None:
        """A URL a browser can fetch, or ``None``: the server then signs one of its own."""
        key = await put(blob_store, os.urandom(2000))
        url = blob_store.presign(key, expires_at=in_an_hour(), filename="cat picture.png")
        assert url is None or url.startswith(("https://", "http://"))

    async def test_presign_needs_an_aware_future_expiry(self, blob_store: BlobStore) -> None:
        key = await put(blob_store)
        with pytest.raises(Invalid):
            blob_store.presign(key, expires_at=datetime.now() + timedelta(hours=1))
        with pytest.raises(Invalid):
            blob_store.presign(key, expires_at=datetime.now(UTC) - timedelta(seconds=5))

    async def test_ping(self, blob_store: BlobStore) -> None:
        await blob_store.ping()

    async def test_a_closed_store_is_unavailable(self, blob_store: BlobStore) -> None:
        key = await put(blob_store)
        await blob_store.close()
        await blob_store.close()  # closing twice is fine (the fixture closes it again)
        with pytest.raises(Unavailable):
            await blob_store.get(key)
