"""Bytes for any framework (``rankion.files``) on every storage backend and a real
blob store (a local folder, and in memory): each variant of an image opened for its
team, signed links resolved to what to stream, and one ``NotFound`` for anything
wrong."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from rankion_core import Actor, Deps, HmacUrlSigner, NotFound, Rankion
from rankion_core.defaults import FakeClock
from rankion_core.ports import Storage
from rankion_core.services import BlobContent, GenerateRequest
from rankion_core.services.files import SIGNED_MAX_AGE, rendition_name
from rankion_fsspec import FsspecBlobStore, open_blob_store
from rankion_procedural import PillowCodec, ProceduralProvider

BASE = "http://host.example/rankion"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["folder", "memory"])
def blob_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def blobs(blob_kind: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[FsspecBlobStore]:
    url = str(tmp_path / "blobs") if blob_kind == "folder" else f"memory://{uuid.uuid4().hex}"
    async with open_blob_store(url, clock=clock) as store:
        yield store


@pytest.fixture
async def app(storage: Storage, blobs: FsspecBlobStore, clock: FakeClock) -> Rankion:
    deps = Deps(
        storage=storage,
        blobs=blobs,
        provider=ProceduralProvider(),
        codec=PillowCodec(),
        signer=HmacUrlSigner(b"0123456789abcdef0123", BASE),
        clock=clock,
    )
    return Rankion(deps)


async def _team(app: Rankion, name: str = "acme") -> Actor:
    return Actor((await app.accounts.create_team(name, 100)).id)


async def _ready_image(app: Rankion, actor: Actor) -> int:
    queued = await app.creation.generate(actor, GenerateRequest(prompt="a pier", size="512x512"))
    await app.run_pending()
    return queued.image_id


async def _bytes(content: BlobContent) -> bytes:
    return b"".join([chunk async for chunk in content.chunks(chunk_size=4096)])


def _signed_parts(url: str) -> tuple[str, str, str]:
    """``(path after the base URL, expires, sig)`` of a signed link, as a route sees them."""
    assert url.startswith(BASE + "/files/"), url
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    path = unquote(parts.path).removeprefix(urlsplit(BASE).path)
    return path, query["expires"][0], query["sig"][0]


async def test_each_variant_opens_with_its_type_size_and_bytes(
    app: Rankion, blobs: FsspecBlobStore, blob_kind: str
) -> None:
    actor = await _team(app)
    image_id = await _ready_image(app, actor)
    detail = await app.gallery.detail(actor, image_id)
    image = detail.view.image
    assert image.blob_key and image.thumbnail_key and detail.renditions

    original = await app.files.open(actor, image_id)
    data = await _bytes(original)
    assert data == await blobs.get(image.blob_key) == await original.read()
    assert data.startswith(b"\x89PNG")
    assert (original.content_type, original.size) == ("image/png", len(data))
    assert original.filename == f"rankion-{image_id}.png"
    assert original.etag and original.max_age is None
    local = original.local_file()  # a folder keeps files; memory has none
    assert (local is None) == (blob_kind == "memory")
    assert local is None or await asyncio.to_thread(Path(local).read_bytes) == data

    thumb = await app.files.open(actor, image_id, "thumbnail")
    assert await thumb.read() == await blobs.get(image.thumbnail_key)
    assert thumb.content_type.startswith("image/")
    assert thumb.etag != original.etag

    public = await app.files.open(actor, image_id, "public")
    assert await public.read() == await blobs.get(image.public_blob_key or "")

    for view in detail.renditions:
        r = view.rendition
        content = await app.files.open(actor, image_id, rendition_name(r.format, r.width))
        body = await _bytes(content)
        assert body == await blobs.get(r.key)
        assert content.size == r.bytes == len(body)
        assert content.content_type == f"image/{r.format}"
        assert content.filename == f"rankion-{image_id}-{r.format}-{r.width}.{r.format}"


async def test_anything_not_there_is_the_missing_image_answer(app: Rankion) -> None:
    actor, other = await _team(app), await _team(app, "globex")
    image_id = await _ready_image(app, actor)
    queued = await app.creation.generate(actor, GenerateRequest(prompt="not yet"))
    asks = [
        (other, image_id, "original"),  # another team's image
        (other, image_id, "thumbnail"),
        (actor, image_id + 1000, "original"),  # no such image
        (actor, queued.image_id, "original"),  # not ready yet
        (actor, queued.image_id, "thumbnail"),
        (actor, image_id, "webp-4096"),  # a rendition it does not have
        (actor, image_id, "png-256"),
        (actor, image_id, ""),
        (actor, image_id, "x" * 10_000),
    ]
    messages = set()
    for who, wanted, variant in asks:
        with pytest.raises(NotFound) as caught:
            await app.files.open(who, wanted, variant)
        messages.add((caught.value.code, caught.value.message))
    assert messages == {("not_found", "image not found")}


async def test_a_signed_url_resolves_to_its_blob(app: Rankion, clock: FakeClock) -> None:
    actor = await _team(app)
    image_id = await _ready_image(app, actor)
    view = await app.gallery.get(actor, image_id)
    assert view.url is not None and view.thumbnail_url is not None
    path, expires, sig = _signed_parts(view.url)
    content = await app.files.open_signed(path, expires, sig)
    assert await content.read() == await (await app.files.open(actor, image_id)).read()
    assert content.content_type == "image/png"
    assert content.filename is None
    assert content.max_age == min(SIGNED_MAX_AGE, int(expires) - int(clock.now().timestamp()))
    thumb = await app.files.open_signed(*_signed_parts(view.thumbnail_url))
    assert thumb.key == view.image.thumbnail_key

    clock.advance(timedelta(seconds=int(expires) - int(clock.now().timestamp()) - 10))
    assert (await app.files.open_signed(path, expires, sig)).max_age == 10


async def test_every_bad_link_is_the_same_not_found(app: Rankion, clock: FakeClock) -> None:
    actor = await _team(app)
    image_id = await _ready_image(app, actor)
    view = await app.gallery.get(actor, image_id)
    assert view.url is not None
    path, expires, sig = _signed_parts(view.url)
    flipped = ("0" if sig[0] != "0" else "1") + sig[1:]
    signer = app.deps.signer
    gone = "/files/images/2026/01/" + "0" * 32 + ".png"
    later = str(int(expires) + 3600)
    bad = [
        (path, expires, flipped),
        (path, later, sig),
        (path, "", sig),
        (path, expires, ""),
        (path, "abc", sig),
        (path, "9" * 5000, sig),
        (path, expires, "é" * 32),
        (path, expires, sig * 100),
        (path.replace(".png", ".webp"), expires, sig),
        (path + "x" * 5000, expires, sig),
        ("/files/../../etc/passwd", "1", "x"),
        (gone, later, signer.signature(gone, int(later))),  # signed, never stored
        ("/s/a-share", later, signer.signature("/s/a-share", int(later))),  # not a file
    ]
    for args in bad:
        with pytest.raises(NotFound) as caught:
            await app.files.open_signed(*args)
        assert caught.value.message == "file not found", args

    await app.files.open_signed(path, expires, sig)  # still good, until it expires
    clock.advance(timedelta(seconds=int(expires) - int(clock.now().timestamp()) + 1))
    with pytest.raises(NotFound):
        await app.files.open_signed(path, expires, sig)


async def test_a_purged_blob_is_not_found_even_when_validly_signed(app: Rankion) -> None:
    actor = await _team(app)
    image_id = await _ready_image(app, actor)
    view = await app.gallery.get(actor, image_id)
    assert view.url is not None
    parts = _signed_parts(view.url)
    await app.deps.blobs.delete(view.image.blob_key or "")
    with pytest.raises(NotFound):
        await app.files.open_signed(*parts)


async def test_an_export_zip_comes_with_a_download_name(app: Rankion) -> None:
    actor = await _team(app)
    image_id = await _ready_image(app, actor)
    export = await app.exports.start(actor, [image_id])
    await app.run_pending()
    status = await app.exports.status(actor, export.job_id)
    assert status.download_url is not None
    content = await app.files.open_signed(*_signed_parts(status.download_url))
    assert content.content_type == "application/zip"
    assert content.filename == "rankion-export-" + content.key.rsplit("/", 1)[-1]
    with zipfile.ZipFile(io.BytesIO(await content.read())) as archive:
        assert f"{image_id}-a-pier.png" in archive.namelist()
