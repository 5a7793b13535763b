"""The ``BlobStore`` contract (``rankion_core.testing.BlobStoreContract``) on every
fsspec flavour: memory, local, S3 (against moto). Presigning is the one place where
the flavours differ by design. Later sections test what only one flavour has: S3
(content type, multipart, a dead endpoint), the local folder (atomic writes, flat
memory) and the memory namespaces, then key making and URL parsing.
"""

from __future__ import annotations

import asyncio
import gc
import io
import os
import re
import socket
import sys
import tracemalloc
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import aiohttp
import boto3
import pytest

from rankion_core.errors import Invalid, NotFound, Unavailable
from rankion_core.ports import BlobStore
from rankion_core.testing import BlobStoreContract
from rankion_core.testing.blobs import A_KEY, Boom, chunks_of, collect, in_an_hour, put
from rankion_fsspec import FsspecBlobStore, open_blob_store
from rankion_fsspec.multipart import PART_SIZE
from tests.support.moto_server import MotoS3, moto_s3  # noqa: F401

MiB = 1 << 20
KEY = re.compile(r"images/(\d{4})/(\d{2})/[0-9a-f]{32}\.png")


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


# --------------------------------------------------------------------------- the contract


class ServedByTheServer(BlobStoreContract):
    async def test_presign(self, blob_store: BlobStore) -> None:
        key = await put(blob_store)
        assert blob_store.presign(key, expires_at=in_an_hour()) is None  # the core signs


class TestMemoryBlobStore(ServedByTheServer):
    async def make_blob_store(self) -> BlobStore:
        return open_blob_store(f"memory://{uuid4().hex}")


class TestLocalBlobStore(ServedByTheServer):
    async def make_blob_store(self) -> BlobStore:
        return open_blob_store(str(self.request.getfixturevalue("tmp_path") / "blobs"))


class TestS3BlobStore(BlobStoreContract):
    large_blob_size = 2 * PART_SIZE + 5 * MiB + 7  # three S3 parts, the last one short

    async def make_blob_store(self) -> BlobStore:
        s3: MotoS3 = self.request.getfixturevalue("moto_s3")
        return s3.open(uuid4().hex)

    async def test_presign(self, blob_store: BlobStore) -> None:
        data = os.urandom(2000)
        key = await put(blob_store, data)
        url = blob_store.presign(key, expires_at=in_an_hour(), filename="cat picture.png")
        assert url is not None
        assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["3600"]
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            assert response.status == 200
            assert await response.read() == data
            disposition = response.headers["Content-Disposition"]
        assert 'filename="cat picture.png"' in disposition


# --------------------------------------------------------------------------- key making


@pytest.fixture(params=["memory", "local", "s3"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., FsspecBlobStore]:
    """Opens an empty store of each flavour (moto is started only for S3)."""
    if request.param == "memory":
        return partial(open_blob_store, f"memory://{uuid4().hex}")
    if request.param == "local":
        return partial(open_blob_store, str(tmp_path / "blobs"))
    s3: MotoS3 = request.getfixturevalue("moto_s3")
    return partial(s3.open, uuid4().hex)


Opener = Callable[..., FsspecBlobStore]


async def test_keys_are_kind_year_month_uuid_ext(open_store: Opener) -> None:
    clock = FixedClock(datetime(2031, 7, 4, 12, tzinfo=UTC))
    async with open_store(clock=clock) as store:
        first, second = await put(store), await put(store)
    assert KEY.fullmatch(first)
    assert first.startswith("images/2031/07/")
    assert first != second


# --------------------------------------------------------------------------- S3 only


@pytest.fixture
def s3_client(moto_s3: MotoS3) -> Iterator[Any]:  # noqa: F811
    client = boto3.client("s3", endpoint_url=moto_s3.endpoint_url, region_name=moto_s3.region)
    yield client
    client.close()


@pytest.fixture
async def s3_store(moto_s3: MotoS3) -> AsyncIterator[tuple[FsspecBlobStore, str]]:  # noqa: F811
    """An S3 store and the object-key prefix it writes under."""
    prefix = uuid4().hex
    async with moto_s3.open(prefix) as store:
        yield store, prefix


async def test_s3_objects_carry_their_content_type(
    s3_store: tuple[FsspecBlobStore, str],
    s3_client: Any,
    moto_s3: MotoS3,  # noqa: F811
) -> None:
    store, prefix = s3_store
    small = await put(store)
    big, _ = await store.put_stream(
        chunks_of(os.urandom(PART_SIZE + MiB), MiB),
        kind="exports",
        ext="zip",
        content_type="application/zip",
    )
    head = s3_client.head_object(Bucket=moto_s3.bucket, Key=f"{prefix}/{small}")
    assert head["ContentType"] == "image/png"
    head = s3_client.head_object(Bucket=moto_s3.bucket, Key=f"{prefix}/{big}")
    assert head["ContentType"] == "application/zip"
    assert head["ETag"].strip('"').endswith("-2")  # a multipart upload of two parts


async def test_s3_failed_upload_is_aborted(
    s3_store: tuple[FsspecBlobStore, str],
    s3_client: Any,
    moto_s3: MotoS3,  # noqa: F811
) -> None:
    store, prefix = s3_store

    async def failing() -> AsyncIterator[bytes]:
        yield os.urandom(PART_SIZE + 1)
        raise Boom("gone")

    with pytest.raises(Boom):
        await store.put_stream(failing(), kind="images", ext="png", content_type="image/png")
    uploads = s3_client.list_multipart_uploads(Bucket=moto_s3.bucket, Prefix=prefix)
    assert uploads.get("Uploads", []) == []


async def test_s3_presign_honours_a_non_ascii_filename(
    s3_store: tuple[FsspecBlobStore, str],
) -> None:
    store, _ = s3_store
    key = await put(store)
    url = store.presign(key, expires_at=in_an_hour(), filename="café.png")
    assert url is not None
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        disposition = response.headers["Content-Disposition"]
    assert "filename*=UTF-8''caf%C3%A9.png" in disposition
    with pytest.raises(Invalid):
        store.presign(key, expires_at=datetime.now(UTC) + timedelta(days=8))


async def test_s3_missing_bucket_is_unavailable(moto_s3: MotoS3) -> None:  # noqa: F811
    store = open_blob_store("s3://no-such-bucket", endpoint_url=moto_s3.endpoint_url)
    async with store:
        with pytest.raises(Unavailable):
            await store.ping()
        with pytest.raises(Unavailable):
            await put(store)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_s3_down_is_unavailable(moto_s3: MotoS3) -> None:  # noqa: F811
    store = open_blob_store(
        "s3://bucket/prefix",
        endpoint_url=f"http://127.0.0.1:{closed_port()}",
        config_kwargs={"retries": {"mode": "standard", "total_max_attempts": 1}},
    )
    async with store:
        with pytest.raises(Unavailable, match="unavailable"):
            await store.ping()
        with pytest.raises(Unavailable):
            await put(store)
        with pytest.raises(Unavailable):
            await store.put_stream(chunks_of(b"abc", 1), kind="a", ext="b", content_type="c")
        with pytest.raises(Unavailable):
            await store.get(A_KEY)
        with pytest.raises(Unavailable):
            await collect(store.stream(A_KEY))
        with pytest.raises(Unavailable):
            await store.exists(A_KEY)
        with pytest.raises(Unavailable):
            await store.delete(A_KEY)
        with pytest.raises(Unavailable):
            await collect(store.keys())
        assert store.presign(A_KEY, expires_at=in_an_hour()) is not None  # signing is local


# --------------------------------------------------------------------------- local only


async def test_local_folder_is_created(tmp_path: Path) -> None:
    root = tmp_path / "a" / "b"
    async with open_blob_store(f"file://{root}") as store:
        key = await put(store, b"x")
    assert (root / key).read_bytes() == b"x"


async def test_local_keys_skip_stray_files_and_reads_stay_inside(tmp_path: Path) -> None:
    (tmp_path / "secret").write_bytes(b"secret")
    async with open_blob_store(str(tmp_path / "blobs")) as store:
        key = await put(store)
        (tmp_path / "blobs" / "notes.txt").write_text("not a blob")
        (tmp_path / "blobs" / "images" / "2024" / "01").mkdir(parents=True)
        (tmp_path / "blobs" / "images" / "2024" / "01" / f".{'a' * 32}.part").write_bytes(b"")
        assert await collect(store.keys()) == [key]
        with pytest.raises(NotFound):
            await store.get("../secret")


async def test_local_delete_removes_the_folders_it_leaves_empty(tmp_path: Path) -> None:
    async with open_blob_store(str(tmp_path / "blobs")) as store:
        kept = await store.put(b"k", kind="images", ext="png", content_type="image/png")
        first, second = [
            await store.put(b"p", kind="previews-7", ext="png", content_type="image/png")
            for _ in range(2)
        ]
        await store.delete(first)
        assert (tmp_path / "blobs" / second).parent.is_dir()  # not empty yet
        await store.delete(second)
        assert not (tmp_path / "blobs" / "previews-7").exists()
        assert (tmp_path / "blobs").is_dir()
        assert await collect(store.keys()) == [kept]
        again = await store.put(b"q", kind="previews-7", ext="png", content_type="image/png")
        assert await store.get(again) == b"q"


def test_local_write_makes_its_folder_again_when_a_delete_took_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deletion may remove the folder, or an emptied parent of it, while a write is
    making it: between ``makedirs`` and ``open``, or between ``makedirs``' own steps.
    The write makes what is missing again instead of failing (``_open_temp`` is called
    directly, so the patched calls are this write's alone)."""
    from rankion_fsspec.local import _open_temp

    folder = tmp_path / "previews-7" / "2025" / "06"
    (tmp_path / "previews-7" / "2025").mkdir(parents=True)  # a sibling month just emptied
    real_mkdir, real_open, taken = os.mkdir, os.open, []

    def mkdir_after_a_delete(path: Any, mode: int = 0o777, **kw: Any) -> None:
        if str(path) == str(folder) and not taken:
            os.rmdir(folder.parent)  # the deletion of 2025/05's last blob took 2025
            taken.append("parent")
        real_mkdir(path, mode, **kw)

    def open_after_a_delete(path: Any, flags: int, mode: int = 0o777) -> int:
        if str(path).startswith(str(folder)) and len(taken) == 1:
            os.rmdir(folder)  # and then the deletion of 06's last blob took 06
            taken.append("folder")
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "mkdir", mkdir_after_a_delete)
    monkeypatch.setattr(os, "open", open_after_a_delete)
    temp, file = _open_temp(str(folder))
    monkeypatch.undo()
    file.close()
    assert taken == ["parent", "folder"]
    assert Path(temp).parent == folder and Path(temp).exists()


async def test_local_failed_write_leaves_no_file(tmp_path: Path) -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield os.urandom(3 * MiB)
        raise Boom("gone")

    async with open_blob_store(str(tmp_path)) as store:
        with pytest.raises(Boom):
            await store.put_stream(failing(), kind="images", ext="png", content_type="image/png")
    assert files_under(tmp_path) == []


async def test_local_cancelled_write_leaves_no_file(tmp_path: Path) -> None:
    """Cancelled while a batch may still be written in its thread: the temporary file
    is removed once that write is over, and nothing else is left."""
    handed = asyncio.Event()

    async def stalled() -> AsyncIterator[bytes]:
        yield os.urandom(3 * MiB)
        handed.set()
        await asyncio.Event().wait()  # the caller never sends more

    async with open_blob_store(str(tmp_path)) as store:
        writing = asyncio.ensure_future(
            store.put_stream(stalled(), kind="images", ext="png", content_type="image/png")
        )
        await handed.wait()
        writing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await writing
    assert files_under(tmp_path) == []


async def test_local_write_failure_is_seen_when_the_source_fails_after_it() -> None:
    """A batch's write fails in its thread while the source goes on, then the source
    fails too: the source's error is raised and the write's failure is not left
    unretrieved (the loop reports no lost exception)."""
    from rankion_fsspec.local import _copy

    class FullDisk(io.BytesIO):
        def writelines(self, lines: Any) -> None:
            raise OSError(28, "No space left on device")

    written = asyncio.Event()
    lost: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: lost.append(context))

    async def source() -> AsyncIterator[bytes]:
        yield os.urandom(2 * MiB)  # one batch: its write starts and fails
        await asyncio.sleep(0.05)
        written.set()
        raise Boom("the client hung up")

    try:
        with pytest.raises(Boom):
            await _copy(source(), FullDisk())
        assert written.is_set()
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
    assert lost == []


async def test_local_put_stream_and_stream_keep_memory_flat(tmp_path: Path) -> None:
    chunk = os.urandom(MiB)

    async def sixty_four_mib() -> AsyncIterator[bytes]:
        for _ in range(64):
            yield chunk

    async with open_blob_store(str(tmp_path)) as store:
        tracemalloc.start()
        try:
            key, size = await store.put_stream(
                sixty_four_mib(), kind="exports", ext="zip", content_type="application/zip"
            )
            _, written_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            read = 0
            async for part in store.stream(key):
                read += len(part)
            _, read_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert size == read == 64 * MiB
    assert written_peak < 16 * MiB
    assert read_peak < 16 * MiB


# --------------------------------------------------------------------------- memory only


async def test_memory_namespaces() -> None:
    name = uuid4().hex
    first = open_blob_store(f"memory://{name}")
    key = await put(first)
    same = open_blob_store(f"memory://{name}")
    other = open_blob_store(f"memory://{uuid4().hex}")
    assert await same.get(key) == b"bytes"  # one namespace while a store holds it
    assert not await other.exists(key)
    del first, same
    gc.collect()
    assert not await open_blob_store(f"memory://{name}").exists(key)  # freed, then fresh


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("ftp://host/x", {}),
        ("file://otherhost/x", {}),
        ("memory://x", {"endpoint_url": "http://x"}),
        ("s3://", {}),
        ("s3://bucket/../x", {}),
    ],
)
def test_bad_urls_are_invalid(url: str, options: dict[str, Any]) -> None:
    with pytest.raises(Invalid):
        open_blob_store(url, **options)


def test_s3_without_s3fs_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "s3fs", None)
    with pytest.raises(ImportError, match=r"pip install 'rankion\[s3\]'"):
        open_blob_store("s3://bucket")
