"""The procedural provider and the Pillow codec, decoded and measured with Pillow."""

from __future__ import annotations

import asyncio
import io
import struct
import time
import zlib
from importlib.metadata import entry_points

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from rankion_core.errors import Invalid, ProviderRejected, ProviderUnavailable
from rankion_core.ports import EditSpec, GenerateSpec, ImageInfo
from rankion_procedural import PillowCodec, ProceduralProvider, open_provider

MODEL = "procedural-v1"


def _spec(prompt: str = "a lake at dawn", size: str = "512x512", **kw: str) -> GenerateSpec:
    quality = kw.pop("quality", "medium")
    return GenerateSpec(prompt=prompt, model=MODEL, size=size, quality=quality, **kw)


def _edit(prompt: str, mask: bytes | None = None, output_format: str = "png") -> EditSpec:
    return EditSpec(prompt, MODEL, "auto", "medium", output_format=output_format, mask=mask)


def _open(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _means(data: bytes) -> list[float]:
    return ImageStat.Stat(_open(data).convert("RGB")).mean


@pytest.fixture
def provider() -> ProceduralProvider:
    return ProceduralProvider()


@pytest.fixture
async def source(provider: ProceduralProvider) -> bytes:
    return (await provider.generate(_spec("mountains over a forest", "1536x1024"))).data


# --------------------------------------------------------------------------- generate


async def test_same_prompt_and_size_give_the_same_bytes(provider: ProceduralProvider) -> None:
    first = await provider.generate(_spec())
    again = await ProceduralProvider().generate(_spec())
    assert first.data == again.data


@pytest.mark.parametrize(
    "other",
    [_spec("a lake at dusk"), _spec(size="256x256"), _spec(quality="high")],
    ids=["prompt", "size", "quality"],
)
async def test_a_different_request_gives_a_different_picture(
    provider: ProceduralProvider, other: GenerateSpec
) -> None:
    assert (await provider.generate(_spec())).data != (await provider.generate(other)).data


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("256x256", (256, 256)),
        ("512x512", (512, 512)),
        ("1024x1024", (1024, 1024)),
        ("1536x1024", (1536, 1024)),
        ("1024x1536", (1024, 1536)),
        ("auto", (1024, 1024)),
    ],
)
async def test_sizes_are_honoured(
    provider: ProceduralProvider, size: str, expected: tuple[int, int]
) -> None:
    assert _open((await provider.generate(_spec(size=size))).data).size == expected


@pytest.mark.parametrize(("fmt", "pillow"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")])
async def test_formats_are_honoured(provider: ProceduralProvider, fmt: str, pillow: str) -> None:
    image = _open((await provider.generate(_spec(output_format=fmt))).data)
    assert (image.format, image.mode) == (pillow, "RGB")


@pytest.mark.parametrize("fmt", ["png", "webp"])
async def test_transparent_background_has_alpha(provider: ProceduralProvider, fmt: str) -> None:
    spec = _spec(background="transparent", output_format=fmt)
    image = _open((await provider.generate(spec)).data)
    assert image.mode == "RGBA"
    low, high = image.getchannel("A").getextrema()
    assert (low, high) == (0, 255)  # a see-through sky over an opaque landscape


async def test_transparent_jpeg_is_flattened(provider: ProceduralProvider) -> None:
    spec = _spec(background="transparent", output_format="jpeg")
    assert _open((await provider.generate(spec)).data).mode == "RGB"


async def test_the_picture_is_a_scene_not_noise_or_a_flat_fill(
    provider: ProceduralProvider,
) -> None:
    data = (await provider.generate(_spec(size="1024x1024"))).data
    image = _open(data)
    assert min(ImageStat.Stat(image).stddev) > 10  # varied
    assert len(data) < 0.2 * 1024 * 1024 * 3  # yet smooth enough to compress well
    assert len(image.getcolors(1 << 24) or []) > 500


@pytest.mark.parametrize(
    "spec", [_spec(size="640x480"), _spec(output_format="gif")], ids=["size", "format"]
)
async def test_unsupported_requests_are_rejected(
    provider: ProceduralProvider, spec: GenerateSpec
) -> None:
    with pytest.raises(ProviderRejected, match="unsupported"):
        await provider.generate(spec)


# --------------------------------------------------------------------------- edit


async def test_edit_keeps_dimensions_and_changes_the_picture(
    provider: ProceduralProvider, source: bytes
) -> None:
    edited = (await provider.edit(source, _edit("golden hour"))).data
    assert _open(edited).size == (1536, 1024)
    assert edited != source
    red, _, blue = _means(source)
    red2, _, blue2 = _means(edited)
    assert red2 - blue2 > red - blue + 15


@pytest.mark.parametrize("prompt", ["make it black and white", "grayscale", "monochrome"])
async def test_black_and_white(provider: ProceduralProvider, source: bytes, prompt: str) -> None:
    image = _open((await provider.edit(source, _edit(prompt))).data).convert("RGB")
    r, g, b = image.split()
    assert ImageChops.difference(r, g).getbbox() is None
    assert ImageChops.difference(g, b).getbbox() is None


async def test_night_darkens_and_bright_lightens(
    provider: ProceduralProvider, source: bytes
) -> None:
    base = sum(_means(source))
    assert sum(_means((await provider.edit(source, _edit("at night"))).data)) < base * 0.6
    assert sum(_means((await provider.edit(source, _edit("brighter"))).data)) > base * 1.1


async def test_blue_cools(provider: ProceduralProvider, source: bytes) -> None:
    red, _, blue = _means(source)
    red2, _, blue2 = _means((await provider.edit(source, _edit("cool blue tones"))).data)
    assert blue2 - red2 > blue - red + 15


def _edge_energy(data: bytes) -> float:
    return sum(ImageStat.Stat(_open(data).convert("L").filter(ImageFilter.FIND_EDGES)).mean)


async def test_blur_softens_and_sharpen_crisps(provider: ProceduralProvider, source: bytes) -> None:
    base = _edge_energy(source)
    assert _edge_energy((await provider.edit(source, _edit("blur"))).data) < base * 0.8
    assert _edge_energy((await provider.edit(source, _edit("sharpen"))).data) > base * 1.2


async def test_invert(provider: ProceduralProvider, source: bytes) -> None:
    inverted = _open((await provider.edit(source, _edit("invert the colours"))).data)
    expected = Image.eval(_open(source).convert("RGB"), lambda v: 255 - v)
    assert ImageChops.difference(inverted.convert("RGB"), expected).getbbox() is None


async def test_vintage_is_sepia(provider: ProceduralProvider, source: bytes) -> None:
    red, green, blue = _means((await provider.edit(source, _edit("vintage photo"))).data)
    assert red > green > blue


async def test_an_unknown_prompt_still_changes_the_picture_deterministically(
    provider: ProceduralProvider, source: bytes
) -> None:
    first = (await provider.edit(source, _edit("add a dragon"))).data
    again = (await provider.edit(source, _edit("add a dragon"))).data
    other = (await provider.edit(source, _edit("add a castle"))).data
    assert first == again
    assert len({source, first, other}) == 3
    assert ImageChops.difference(_open(first), _open(source)).getbbox() is not None


async def test_an_edit_that_would_change_nothing_still_changes(
    provider: ProceduralProvider,
) -> None:
    white = _png(Image.new("RGB", (64, 64), (255, 255, 255)))
    edited = (await provider.edit(white, _edit("brighter"))).data
    assert ImageChops.difference(_open(edited), _open(white)).getbbox() is not None


async def test_the_mask_confines_the_change(provider: ProceduralProvider, source: bytes) -> None:
    mask = Image.new("RGBA", (1536, 1024), (0, 0, 0, 255))
    ImageDraw.Draw(mask).rectangle((0, 0, 767, 1023), fill=(0, 0, 0, 0))  # left half: edit

    edited = (await provider.edit(source, _edit("invert", _png(mask)))).data

    diff = ImageChops.difference(_open(edited).convert("RGB"), _open(source).convert("RGB"))
    assert diff.crop((768, 0, 1536, 1024)).getbbox() is None
    assert diff.crop((0, 0, 768, 1024)).getbbox() == (0, 0, 768, 1024)


async def test_a_mask_of_another_size_is_rejected(
    provider: ProceduralProvider, source: bytes
) -> None:
    mask = _png(Image.new("RGBA", (10, 10)))
    with pytest.raises(ProviderRejected, match="same dimensions"):
        await provider.edit(source, _edit("invert", mask))


async def test_edit_keeps_the_source_alpha(provider: ProceduralProvider) -> None:
    source = (await provider.generate(_spec(background="transparent"))).data
    edited = _open((await provider.edit(source, _edit("sepia"))).data)
    assert edited.mode == "RGBA"
    assert edited.getchannel("A").tobytes() == _open(source).getchannel("A").tobytes()


@pytest.mark.parametrize(("fmt", "pillow"), [("jpeg", "JPEG"), ("webp", "WEBP")])
async def test_edit_honours_the_output_format(
    provider: ProceduralProvider, source: bytes, fmt: str, pillow: str
) -> None:
    edited = (await provider.edit(source, _edit("warm", output_format=fmt))).data
    assert _open(edited).format == pillow


async def test_edit_of_garbage_is_rejected(provider: ProceduralProvider) -> None:
    with pytest.raises(ProviderRejected, match="source image could not be used"):
        await provider.edit(b"not an image at all", _edit("warm"))


# --------------------------------------------------------------------------- options


async def test_markers_raise_the_right_errors(provider: ProceduralProvider) -> None:
    with pytest.raises(ProviderRejected, match="content policy"):
        await provider.generate(_spec("a cat [reject]"))
    with pytest.raises(ProviderUnavailable):
        await provider.generate(_spec("a cat [flaky]"))
    with pytest.raises(ProviderRejected):
        await provider.edit(b"", _edit("[reject] warm"))


async def test_markers_can_be_switched_off() -> None:
    quiet = open_provider(fail_prompts="none")
    await quiet.generate(_spec("a cat [reject] [flaky]"))
    only_reject = open_provider(fail_prompts="[reject]")
    await only_reject.generate(_spec("a cat [flaky]"))
    with pytest.raises(ProviderRejected):
        await only_reject.generate(_spec("a cat [reject]"))


async def test_delay_is_awaited() -> None:
    slow = open_provider(delay="0.2")
    assert slow.delay == 0.2
    started = time.monotonic()
    await slow.generate(_spec(size="256x256"))
    assert time.monotonic() - started >= 0.2


async def test_drawing_does_not_block_the_event_loop(provider: ProceduralProvider) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await provider.generate(_spec(size="1536x1024", output_format="webp"))
    task.cancel()
    assert ticks > 1


@pytest.mark.parametrize(
    "options", [{"delay": "soon"}, {"delay": -1}, {"fail_prompts": "[explode]"}, {"colour": "1"}]
)
def test_bad_options_are_invalid(options: dict[str, object]) -> None:
    with pytest.raises(Invalid):
        open_provider(**options)


def test_the_entry_point_opens_the_provider() -> None:
    [entry] = [e for e in entry_points(group="rankion.providers") if e.name == "procedural"]
    provider = entry.load()()
    assert (provider.name, provider.default_model) == ("procedural", MODEL)
    [model] = provider.capabilities
    assert "auto" in model.sizes
    assert model.id == provider.default_model


# --------------------------------------------------------------------------- codec


@pytest.fixture
def codec() -> PillowCodec:
    return PillowCodec()


def _encoded(fmt: str, size: tuple[int, int] = (300, 200), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 200, 90)).convert(mode).save(out, fmt)
    return out.getvalue()


def _png_header(width: int, height: int) -> bytes:
    """A PNG with only an IHDR (and IEND): how a decompression bomb announces itself."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(_encoded("JPEG", (16, 16)))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.parametrize(
    ("fmt", "info"),
    [
        ("PNG", ImageInfo(300, 200, "image/png", "png")),
        ("JPEG", ImageInfo(300, 200, "image/jpeg", "jpg")),
        ("WEBP", ImageInfo(300, 200, "image/webp", "webp")),
    ],
)
def test_inspect_describes_allowed_images(codec: PillowCodec, fmt: str, info: ImageInfo) -> None:
    assert codec.inspect(_encoded(fmt)) == info


def test_default_limits(codec: PillowCodec) -> None:
    assert codec.max_bytes == 20 * 1024 * 1024


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"definitely not an image", "not a PNG, JPEG or WebP"),
        (_encoded("GIF"), "not a PNG, JPEG or WebP"),
        (_encoded("BMP"), "not a PNG, JPEG or WebP"),
        (_encoded("PNG")[:200], "truncated or corrupt"),
        (_encoded("JPEG")[:-300], "truncated or corrupt"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "truncated or corrupt"),
        (_png_header(100_000, 100_000), "megapixels"),
        (_png_header(10_000, 5_000), "megapixels"),  # under Pillow's own limit, over ours
        (_jpeg_claiming(10_000, 10_000), "megapixels"),
    ],
    ids=["empty", "garbage", "gif", "bmp", "png-cut", "jpg-cut", "png-junk", "bomb", "big", "jpg"],
)
def test_inspect_refuses_what_is_not_a_whole_allowed_image(
    codec: PillowCodec, data: bytes, message: str
) -> None:
    with pytest.raises(Invalid, match=message):
        codec.inspect(data)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_bomb_is_invalid_even_where_pillow_only_warns(codec: PillowCodec) -> None:
    with pytest.raises(Invalid, match="megapixels"):
        codec.inspect(_jpeg_claiming(10_000, 10_000))


def test_an_oversized_payload_is_refused_before_decoding() -> None:
    data = _encoded("PNG")
    with pytest.raises(Invalid, match="larger than"):
        PillowCodec(max_bytes=len(data) - 1).inspect(data)
    assert PillowCodec(max_bytes=len(data)).inspect(data).width == 300


def test_the_pixel_limit_is_configurable() -> None:
    with pytest.raises(Invalid, match="300x200"):
        PillowCodec(max_pixels=300 * 200 - 1).inspect(_encoded("WEBP"))


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [((1536, 1024), 256, (256, 171)), ((1024, 1536), 256, (171, 256)), ((100, 50), 256, (100, 50))],
)
def test_thumbnail_is_a_small_webp_with_the_aspect_kept(
    codec: PillowCodec, size: tuple[int, int], max_side: int, expected: tuple[int, int]
) -> None:
    thumb = _open(codec.thumbnail(_encoded("PNG", size), max_side))
    assert (thumb.format, thumb.size) == ("WEBP", expected)


def test_thumbnail_keeps_transparency(codec: PillowCodec) -> None:
    image = Image.new("RGBA", (600, 400), (10, 200, 90, 255))
    ImageDraw.Draw(image).rectangle((0, 0, 299, 399), fill=(0, 0, 0, 0))
    thumb = _open(codec.thumbnail(_png(image), 64))
    assert thumb.mode == "RGBA"
    assert thumb.size == (64, 43)
    assert thumb.getchannel("A").getextrema() == (0, 255)


def test_thumbnail_of_garbage_is_invalid(codec: PillowCodec) -> None:
    with pytest.raises(Invalid):
        codec.thumbnail(b"garbage")


def test_a_png_mask_with_alpha_passes(codec: PillowCodec) -> None:
    codec.check_mask(_encoded("PNG", (300, 200), "RGBA"), 300, 200)
    codec.check_mask(_encoded("PNG", (300, 200), "LA"), 300, 200)
    palette = Image.new("P", (300, 200))
    palette.info["transparency"] = 0
    codec.check_mask(_png(palette), 300, 200)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_encoded("PNG", (300, 200), "RGB"), "alpha channel"),
        (_encoded("WEBP", (300, 200), "RGBA"), "must be a PNG"),
        (_encoded("JPEG"), "must be a PNG"),
        (b"garbage", "must be a PNG"),
        (_encoded("PNG", (300, 200), "RGBA")[:150], "truncated or corrupt"),
        (_encoded("PNG", (200, 300), "RGBA"), "the mask is 200x300 but the image is 300x200"),
    ],
    ids=["no-alpha", "webp", "jpeg", "garbage", "truncated", "wrong-size"],
)
def test_bad_masks_are_invalid(codec: PillowCodec, data: bytes, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        codec.check_mask(data, 300, 200)


def test_a_mask_of_another_size_is_refused_before_it_is_decoded(
    codec: PillowCodec, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PNG states its size in its first chunk: a mask the size of a bomb (a few
    hundred kilobytes of one colour) costs nothing to refuse."""
    big = _encoded("PNG", (3000, 3000), "RGBA")

    def decoded(_data: bytes) -> Image.Image:
        raise AssertionError("the mask was decoded")

    monkeypatch.setattr(codec, "_open", decoded)
    with pytest.raises(Invalid, match="the mask is 3000x3000 but the image is 300x200"):
        codec.check_mask(big, 300, 200)
