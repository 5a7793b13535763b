"""Sizes and output formats: parsing a ``WxH`` string and writing image bytes."""

from __future__ import annotations

import io
import zlib
from collections.abc import Sequence

from PIL import Image

from rankion_core.errors import ProviderRejected

__all__ = ["FORMATS", "encode", "parse_size"]

#: output_format -> (Pillow format, keeps an alpha channel)
FORMATS: dict[str, tuple[str, bool]] = {
    "png": ("PNG", True),
    "jpeg": ("JPEG", False),
    "webp": ("WEBP", True),
}

_AUTO_SIZE = (1024, 1024)


def parse_size(size: str, allowed: Sequence[str]) -> tuple[int, int]:
    """``"1536x1024"`` -> ``(1536, 1024)``; ``"auto"`` is 1024x1024."""
    if size not in allowed:
        raise ProviderRejected(f"unsupported size {size!r}; use one of {', '.join(allowed)}")
    if size == "auto":
        return _AUTO_SIZE
    width, _, height = size.partition("x")
    return int(width), int(height)


def encode(image: Image.Image, output_format: str, compression: int | None = None) -> bytes:
    """The image in ``output_format`` with fast settings: the pictures are flat, so
    PNG's lowest zlib level with run-length matching costs little in size (most of a
    PNG's time is Pillow's per-row filter choice, which no option turns off).
    Alpha is dropped for JPEG. ``compression`` (0..100, jpeg and webp) is the encoder's
    quality, as the Images API's ``output_compression`` is (100: least compressed)."""
    try:
        pillow_format, keeps_alpha = FORMATS[output_format]
    except KeyError:
        raise ProviderRejected(
            f"unsupported output_format {output_format!r}; use png, jpeg or webp"
        ) from None
    if image.mode not in ("RGB", "RGBA") or (image.mode == "RGBA" and not keeps_alpha):
        image = image.convert("RGB")
    out = io.BytesIO()
    if pillow_format == "PNG":
        image.save(out, "PNG", compress_level=1, compress_type=zlib.Z_RLE)
    elif pillow_format == "JPEG":
        image.save(out, "JPEG", quality=90 if compression is None else max(1, compression))
    else:
        image.save(out, "WEBP", quality=88 if compression is None else compression, method=0)
    return out.getvalue()
