"""``PillowCodec``: the ``ImageCodec`` port on Pillow, strict about what it accepts.

Only PNG, JPEG and WebP pass, recognised by their magic bytes; a payload over
``max_bytes`` or a picture over ``max_pixels`` (a decompression bomb) is refused
before any pixel is decoded; everything that does pass is decoded in full, so a
truncated file is caught here and not later.
"""

from __future__ import annotations

import base64
import io
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from PIL import Image, ImageOps

from rankion_core.errors import Invalid
from rankion_core.ports import EncodedRendition, ImageCodec, ImageInfo, WebReady

from .metadata import strip_metadata
from .phash import phash
from .thumbhash import rgba_to_thumbhash

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_PIXELS", "PillowCodec", "open_image", "sniff"]

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: the side the picture is scaled into before its ThumbHash is taken
PLACEHOLDER_SIDE = 32
#: encoder settings of each rendition format. AVIF: quality 60 at speed 8 (of 0-10)
#: encodes a 1024-px picture about 4 times faster than Pillow's default (75 at
#: speed 6), and smaller, at a quality the eye takes for WebP's 80.
RENDITION_OPTIONS: dict[str, dict[str, object]] = {
    "webp": {"format": "WEBP", "quality": 80, "method": 4},
    "avif": {"format": "AVIF", "quality": 60, "speed": 8},
}
#: Pillow format -> (mime type, file extension)
_TYPES = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "WEBP": ("image/webp", "webp"),
}


def sniff(data: bytes) -> str | None:
    """The Pillow format name the magic bytes announce, if it is one we accept."""
    if data.startswith(_PNG_MAGIC):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise Invalid(
            f"the image is {width}x{height}, more than the {max_pixels // 1_000_000} "
            "megapixels allowed"
        )


def _png_size(data: bytes) -> tuple[int, int] | None:
    """A PNG's width and height as its IHDR chunk (the first) states them, before
    anything is decoded; None without one."""
    if data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


def _check_png_header(data: bytes, max_pixels: int) -> None:
    """Read a PNG's size from its IHDR chunk before Pillow sees it (bombs are cheap
    to make as PNGs, and Pillow only warns below its own, much larger, limit)."""
    size = _png_size(data)
    if size is not None:
        _check_pixels(*size, max_pixels)


def open_image(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """Decode ``data`` in full, or raise ``Invalid`` saying why not."""
    if not data:
        raise Invalid("the image is empty")
    if len(data) > max_bytes:
        raise Invalid(f"the image is larger than {max_bytes // (1024 * 1024)} MiB")
    kind = sniff(data)
    if kind is None:
        raise Invalid("the file is not a PNG, JPEG or WebP image")
    if kind == "PNG":
        _check_png_header(data, max_pixels)
    try:
        image = Image.open(io.BytesIO(data), formats=[kind])
        _check_pixels(*image.size, max_pixels)
        image.load()
    except Invalid:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # the warning arrives as an exception only where warnings are errors;
        # elsewhere Pillow warns and the pixel check above refuses the image
        raise Invalid(f"the image has more than {max_pixels // 1_000_000} megapixels") from None
    except Exception:  # Pillow raises OSError, SyntaxError, ValueError... on bad data
        raise Invalid(f"the {kind} image is truncated or corrupt") from None
    return image


class PillowCodec:
    """CPU-bound image work; synchronous (the core runs it in a thread)."""

    def __init__(
        self, max_bytes: int = DEFAULT_MAX_BYTES, max_pixels: int = DEFAULT_MAX_PIXELS
    ) -> None:
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels

    def _open(self, data: bytes) -> Image.Image:
        return open_image(data, max_bytes=self.max_bytes, max_pixels=self.max_pixels)

    def inspect(self, data: bytes) -> ImageInfo:
        with self._open(data) as image:
            mime_type, ext = _TYPES[str(image.format)]
            return ImageInfo(width=image.width, height=image.height, mime_type=mime_type, ext=ext)

    def thumbnail(self, data: bytes, max_side: int = 256) -> bytes:
        """A WebP whose longer side is at most ``max_side``, upright per EXIF."""
        if max_side < 1:
            raise Invalid("max_side must be positive")
        with self._open(data) as image:
            upright = ImageOps.exif_transpose(image)
            has_alpha = "A" in upright.getbands() or "transparency" in upright.info
            small = upright.convert("RGBA" if has_alpha else "RGB")
            small.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            small.save(out, "WEBP", quality=80, method=4)
            return out.getvalue()

    def web_ready(
        self, data: bytes, sizes: Sequence[tuple[int, int]], formats: Sequence[str]
    ) -> WebReady:
        """One decode for everything a ready image gets beside its original."""
        try:
            clean = strip_metadata(data)
        except ValueError as exc:
            raise Invalid(f"the image cannot be cleaned: {exc}") from None
        with self._open(data) as image:
            upright = _plain(ImageOps.exif_transpose(image))
            return WebReady(
                placeholder=placeholder(upright),
                phash=phash(upright),
                public=None if clean is data else clean,
                renditions=[
                    encode_rendition(upright, fmt, size) for size in sizes for fmt in formats
                ],
            )

    def check_mask(self, data: bytes, width: int, height: int) -> None:
        """Raise ``Invalid`` naming ``mask`` unless ``data`` is a ``width``x``height``
        PNG with alpha."""
        if sniff(data) != "PNG":
            raise _bad_mask("the mask must be a PNG image", "must be a PNG image")
        stated = _png_size(data)
        if stated is not None and stated != (width, height):  # refused before decoding
            _wrong_mask_size(*stated, width, height)
        try:
            mask = self._open(data)
        except Invalid as exc:
            raise _bad_mask(f"the mask cannot be read: {exc.message}", exc.message) from None
        with mask:
            if "A" not in mask.getbands() and "transparency" not in mask.info:
                raise _bad_mask(
                    "the mask must have an alpha channel (transparent where to edit)",
                    "must have an alpha channel (transparent where to edit)",
                )
            if mask.size != (width, height):
                _wrong_mask_size(mask.width, mask.height, width, height)


def _bad_mask(message: str, detail: str) -> Invalid:
    return Invalid(message, details={"mask": detail})


def _wrong_mask_size(mask_width: int, mask_height: int, width: int, height: int) -> NoReturn:
    size = f"is {mask_width}x{mask_height} but the image is {width}x{height}"
    raise _bad_mask(f"the mask {size}; they must match", f"{size}; they must match")


def _plain(image: Image.Image) -> Image.Image:
    """RGB or RGBA pixels and no ``info`` (metadata an encoder could copy)."""
    has_alpha = "A" in image.getbands() or "transparency" in image.info
    plain = image.convert("RGBA" if has_alpha else "RGB")
    plain.info = {}
    return plain


def placeholder(image: Image.Image) -> str:
    """The ThumbHash of ``image`` scaled to fit 32x32 first, base64: its 7x7 lowest
    frequencies come out the same as from the 100x100 the algorithm allows, at a tenth
    of the arithmetic."""
    small = image.convert("RGBA")
    small.thumbnail((PLACEHOLDER_SIDE, PLACEHOLDER_SIDE), Image.Resampling.BOX)
    return base64.b64encode(rgba_to_thumbhash(*small.size, small.tobytes())).decode("ascii")


def encode_rendition(image: Image.Image, fmt: str, size: tuple[int, int]) -> EncodedRendition:
    """``image`` at ``size`` in ``fmt`` (``RENDITION_OPTIONS``), no metadata written."""
    options = dict(RENDITION_OPTIONS[fmt])
    resized = image if image.size == size else image.resize(size, Image.Resampling.LANCZOS)
    resized.info = {}
    out = io.BytesIO()
    resized.save(out, **options)  # type: ignore[arg-type]
    return EncodedRendition(format=fmt, width=size[0], height=size[1], data=out.getvalue())


if TYPE_CHECKING:  # mypy proves the class fits the port structurally

    def _fits_the_port(implementation: PillowCodec) -> ImageCodec:
        return implementation
