"""Images ready for the web over HTTP: renditions and ``srcset`` in the detail, the
ThumbHash placeholder in rows, the perceptual hash, clean public bytes, renditions
in exports and gone with the image."""

from __future__ import annotations

import base64
import copy
import io
import json
import zipfile
from typing import Any

import pytest
from PIL import Image as PILImage
from PIL.PngImagePlugin import PngInfo

from rankion_client import Client
from rankion_core.ports import EditSpec, GenerateSpec, ImageProvider, PreviewSink, ProviderImage
from rankion_server.maintenance_checks import orphan_blobs, stored_blobs

from .conftest import Api, relative


class TaggingProvider:
    """Wraps the real provider and writes EXIF, XMP and a text chunk into its PNGs, as
    a camera or an editing tool would."""

    def __init__(self, inner: ImageProvider) -> None:
        self.inner = inner
        self.name, self.default_model = inner.name, inner.default_model
        self.capabilities = inner.capabilities

    @staticmethod
    def _tag(made: ProviderImage) -> ProviderImage:
        image = PILImage.open(io.BytesIO(made.data))
        exif = PILImage.Exif()
        exif[0x010F] = "CameraMaker"
        exif.get_ifd(0x8825)[2] = (52.0, 31.0, 12.0)
        info = PngInfo()
        info.add_text("Comment", "secret-place")
        info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>secret-place</x:xmpmeta>")
        out = io.BytesIO()
        image.save(out, "PNG", pnginfo=info, exif=exif)
        return ProviderImage(out.getvalue())

    async def generate(
        self, spec: GenerateSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        return self._tag(await self.inner.generate(spec, previews))

    async def edit(
        self, source: bytes, spec: EditSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        return self._tag(await self.inner.edit(source, spec, previews))

    async def close(self) -> None:
        await self.inner.close()


async def test_the_detail_lists_renditions_and_srcset_that_open(api: Api) -> None:
    image_id = await api.generate(size="1024x1536")
    image = await api.image(image_id)
    shown = [(r["format"], r["width"], r["height"]) for r in image["renditions"]]
    assert shown == [
        ("webp", 256, 384),
        ("avif", 256, 384),
        ("webp", 512, 768),
        ("avif", 512, 768),
        ("webp", 1024, 1536),
        ("avif", 1024, 1536),
    ]
    for r in image["renditions"]:
        got = await api.fetch(r["url"])
        assert got.status == 200 and len(got.body) == r["bytes"]
        assert got.headers["Content-Type"] == f"image/{r['format']}"
        opened = PILImage.open(io.BytesIO(got.body))
        assert opened.size == (r["width"], r["height"])
    by_format = {
        fmt: [r for r in image["renditions"] if r["format"] == fmt] for fmt in ("webp", "avif")
    }
    for fmt, made in by_format.items():
        assert image["srcset"][fmt] == ", ".join(f"{r['url']} {r['width']}w" for r in made)
    assert len(image["phash"]) == 16 and int(image["phash"], 16) >= 0
    assert len(base64.b64decode(image["placeholder"])) >= 20


async def test_a_small_image_is_never_upscaled(api: Api) -> None:
    image = await api.image(await api.generate(size="256x256"))
    assert [(r["format"], r["width"]) for r in image["renditions"]] == [
        ("webp", 256),
        ("avif", 256),
    ]


async def test_rows_carry_the_placeholder_and_null_until_ready(api: Api) -> None:
    waiting = await api.generate(run=False)
    queued = await api.image(waiting)
    assert queued["placeholder"] is None and queued["phash"] is None
    assert queued["renditions"] == [] and queued["srcset"] == {}
    await api.run_jobs()
    rows = (await api.get("/v1/images")).data
    assert [r["id"] for r in rows] == [waiting]
    assert rows[0]["placeholder"] == (await api.image(waiting))["placeholder"]
    assert "renditions" not in rows[0] and "phash" not in rows[0]


def _tag_what_the_provider_makes(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The running core's provider (its ``Deps`` are frozen) tags what it makes from now."""
    provider = api.rankion.deps.provider
    tagging = TaggingProvider(copy.copy(provider))
    monkeypatch.setattr(provider, "generate", tagging.generate)
    monkeypatch.setattr(provider, "edit", tagging.edit)


async def test_shares_give_clean_bytes_and_the_original_stays_byte_for_byte(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tag_what_the_provider_makes(api, monkeypatch)
    image_id = await api.generate()
    image = await api.image(image_id)
    original = (await api.fetch(image["url"])).body
    assert b"secret-place" in original and b"CameraMaker" in original
    share = (await api.post(f"/v1/images/{image_id}/share")).data
    public = await api.get(relative(share["public_url"]) + "/image", anonymous=True)
    assert public.status == 200
    assert b"secret-place" not in public.body and b"CameraMaker" not in public.body
    opened = PILImage.open(io.BytesIO(public.body))
    assert not opened.getexif() and "Comment" not in opened.info
    assert opened.tobytes() == PILImage.open(io.BytesIO(original)).tobytes()
    for r in image["renditions"]:
        body = (await api.fetch(r["url"])).body
        assert b"secret-place" not in body and b"CameraMaker" not in body
        assert not PILImage.open(io.BytesIO(body)).getexif()


async def test_renditions_go_with_the_image_and_leave_no_orphan(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tag_what_the_provider_makes(api, monkeypatch)
    kept, gone = await api.generate(), await api.generate()
    per_image = len(await stored_blobs(api.rankion)) // 2
    assert per_image == 2 + 1 + 2  # original, thumbnail, clean copy, webp and avif
    assert await orphan_blobs(api.rankion) == set()
    assert (await api.call("DELETE", f"/v1/images/{gone}")).status == 200
    assert (await api.call("DELETE", f"/v1/images/{gone}/forever")).status == 204
    assert len(await stored_blobs(api.rankion)) == per_image
    assert await orphan_blobs(api.rankion) == set()
    assert (await api.image(kept))["renditions"]


@pytest.mark.parametrize("include", [True, False])
async def test_exports_take_the_renditions_when_asked(api: Api, include: bool) -> None:
    image_id = await api.generate(title="Hero")
    body: dict[str, Any] = {"ids": [image_id]}
    if include:
        body["include_renditions"] = True
    started = await api.post("/v1/images/bulk/export", body)
    assert started.status == 202, started.body
    await api.run_jobs()
    export = (await api.get(f"/v1/images/exports/{started.data['job_id']}")).data
    archive = zipfile.ZipFile(io.BytesIO((await api.fetch(export["download_url"])).body))
    names = sorted(archive.namelist())
    manifest = json.loads(archive.read("manifest.json"))
    row = manifest["images"][0]
    if not include:
        assert names == [f"{image_id}-Hero.png", "manifest.json"]
        assert "renditions" not in row
        return
    assert names == [
        f"{image_id}-Hero-256w.avif",
        f"{image_id}-Hero-256w.webp",
        f"{image_id}-Hero.png",
        "manifest.json",
    ]
    assert [(r["file"], r["format"], r["width"]) for r in row["renditions"]] == [
        (f"{image_id}-Hero-256w.webp", "webp", 256),
        (f"{image_id}-Hero-256w.avif", "avif", 256),
    ]
    assert PILImage.open(io.BytesIO(archive.read(f"{image_id}-Hero-256w.avif"))).format == "AVIF"


async def test_include_renditions_must_be_a_boolean(api: Api) -> None:
    image_id = await api.generate(run=False)
    answer = await api.post(
        "/v1/images/bulk/export", {"ids": [image_id], "include_renditions": "yes"}
    )
    assert answer.status == 422


async def test_similar_finds_near_duplicates_closest_first(api: Api) -> None:
    first = await api.generate(prompt="a lighthouse at dusk")
    twin = await api.generate(prompt="a lighthouse at dusk")  # the same drawing
    other = await api.generate(prompt="a bowl of lemons on a table")
    theirs = await api.generate(api.b, prompt="a lighthouse at dusk")
    hashes = {
        i: (await api.image(i, team=api.b if i == theirs else None))["phash"]
        for i in (first, twin, other, theirs)
    }
    assert hashes[first] == hashes[twin] == hashes[theirs]
    answer = await api.get(f"/v1/images/{first}/similar?max_distance=32")
    assert answer.status == 200, answer.body
    rows = answer.data
    assert rows[0]["id"] == twin and rows[0]["distance"] == 0
    assert theirs not in [r["id"] for r in rows] and first not in [r["id"] for r in rows]
    assert [r["distance"] for r in rows] == sorted(r["distance"] for r in rows)
    exact = await api.get(f"/v1/images/{first}/similar?max_distance=0")
    assert [r["id"] for r in exact.data] == [twin]
    assert exact.json["meta"]["total"] == 1
    await api.call("DELETE", f"/v1/images/{twin}")
    assert (await api.get(f"/v1/images/{first}/similar?max_distance=0")).data == []
    assert other  # drawn differently: found only when far enough


@pytest.mark.parametrize(
    "query", ["max_distance=33", "max_distance=-1", "max_distance=x", "distance=3"]
)
async def test_similar_bounds_its_query(api: Api, query: str) -> None:
    image_id = await api.generate()
    answer = await api.get(f"/v1/images/{image_id}/similar?{query}")
    assert answer.status == 422


async def test_similar_of_another_teams_image_is_the_same_404(api: Api) -> None:
    theirs = await api.generate(api.b)
    missing = await api.get("/v1/images/999999/similar")
    other = await api.get(f"/v1/images/{theirs}/similar")
    assert missing.status == other.status == 404 and missing.body == other.body


async def test_the_python_client_reads_similar_images_and_exports_renditions(api: Api) -> None:
    first = await api.generate(prompt="a lighthouse at dusk")
    twin = await api.generate(prompt="a lighthouse at dusk")
    base = str(api.client.make_url("/")).rstrip("/")
    async with Client(base, api.a.token) as client:
        found = await client.images.similar(first, max_distance=0)
        detail = await client.images.get(first)
        started = await client.exports.start([first], include_renditions=True)
    assert [(i.id, i.distance) for i in found.items] == [(twin, 0)]
    assert detail.placeholder and [r.width for r in detail.renditions] == [256, 256]
    await api.run_jobs()
    export = (await api.get(f"/v1/images/exports/{started.job_id}")).data
    archive = zipfile.ZipFile(io.BytesIO((await api.fetch(export["download_url"])).body))
    assert len(archive.namelist()) == 4  # the image, its two renditions, the manifest
