"""Renditions: the web-ready copies of a ready image, and how a page asks for them.

Each of the ``FORMATS`` at each of the ``WIDTHS`` not above the original's width —
never upscaled — with the height that keeps the aspect ratio (rounded, at least 1).
An image narrower than the smallest width has none: its original is the only size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from attrs import define

from ..models import Image

__all__ = [
    "FORMATS",
    "MIME_TYPES",
    "WIDTHS",
    "Rendition",
    "blob_keys",
    "renditions_of",
    "sizes",
    "srcset",
]

WIDTHS: tuple[int, ...] = (256, 512, 1024)
FORMATS: tuple[str, ...] = ("webp", "avif")
MIME_TYPES: Mapping[str, str] = {"webp": "image/webp", "avif": "image/avif"}


@define(frozen=True)
class Rendition:
    format: str
    width: int
    height: int
    bytes: int
    key: str

    def as_data(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "bytes": self.bytes,
            "key": self.key,
        }


def sizes(width: int, height: int) -> list[tuple[int, int]]:
    """``(width, height)`` of each rendition of a ``width`` x ``height`` original."""
    if width < 1 or height < 1:
        return []
    return [(w, max(1, round(height * w / width))) for w in WIDTHS if w <= width]


def renditions_of(image: Image) -> list[Rendition]:
    """The image's stored renditions, smallest first, webp before avif."""
    found = [Rendition(**r) for r in image.renditions]
    return sorted(found, key=lambda r: (r.width, FORMATS.index(r.format)))


def blob_keys(images: Iterable[Image]) -> set[str]:
    """Every blob key the images refer to: original, thumbnail, clean copy, renditions."""
    keys: set[str] = set()
    for image in images:
        keys.update(k for k in (image.blob_key, image.thumbnail_key, image.public_key) if k)
        keys.update(str(r["key"]) for r in image.renditions)
    return keys


def srcset(renditions: Sequence[Rendition], url: Callable[[str], str]) -> dict[str, str]:
    """``{format: "url 256w, url 512w"}`` for each format that has renditions."""
    by_format: dict[str, list[str]] = {}
    for r in renditions:
        by_format.setdefault(r.format, []).append(f"{url(r.key)} {r.width}w")
    return {fmt: ", ".join(parts) for fmt, parts in by_format.items()}
