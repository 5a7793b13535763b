"""Edits by keyword: the prompt's words pick colour and filter operations.

Every operation is a Pillow C-level call (LUTs through ``point``, ``ImageOps``,
``ImageFilter``). A prompt that names nothing known still tints the picture by a
colour drawn from its hash, so an edit always changes something.
"""

from __future__ import annotations

import colorsys
import random
from collections.abc import Callable, Sequence

from PIL import Image, ImageChops, ImageFilter, ImageOps

from .scene import seed_for

__all__ = ["apply_effects", "apply_mask", "effects_for"]

Effect = Callable[[Image.Image], Image.Image]


def _lut(image: Image.Image, scale: Sequence[float], offset: Sequence[float]) -> Image.Image:
    """Per channel ``v * scale + offset``, clamped, as one 768-entry lookup table."""
    table = [
        max(0, min(255, round(v * s + o)))
        for s, o in zip(scale, offset, strict=True)
        for v in range(256)
    ]
    return image.point(table)


def _warm(image: Image.Image) -> Image.Image:
    return _lut(image, (1.1, 1.02, 0.8), (14, 4, 0))


def _cool(image: Image.Image) -> Image.Image:
    return _lut(image, (0.84, 0.97, 1.1), (0, 2, 16))


def _night(image: Image.Image) -> Image.Image:
    return _lut(image, (0.34, 0.4, 0.55), (0, 4, 22))


def _bright(image: Image.Image) -> Image.Image:
    return _lut(image, (1.22, 1.22, 1.22), (14, 14, 14))


def _gray(image: Image.Image) -> Image.Image:
    return ImageOps.grayscale(image).convert("RGB")


def _sepia(image: Image.Image) -> Image.Image:
    gray = ImageOps.autocontrast(ImageOps.grayscale(image), cutoff=1)
    return ImageOps.colorize(gray, black=(52, 34, 18), white=(244, 226, 188))


def _blur(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(max(2.0, max(image.size) / 180)))


def _sharpen(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.UnsharpMask(radius=2, percent=180, threshold=1))


def _invert(image: Image.Image) -> Image.Image:
    return ImageOps.invert(image)


#: keywords -> effect, applied in this order when several match
_EFFECTS: tuple[tuple[tuple[str, ...], Effect], ...] = (
    (("golden hour", "warm", "sunset", "sunrise"), _warm),
    (("blue", "cool", "cold"), _cool),
    (("night", "dark"), _night),
    (("bright", "lighter", "sunny"), _bright),
    (("black and white", "grayscale", "greyscale", "monochrome", "b&w"), _gray),
    (("vintage", "sepia", "old photo", "retro"), _sepia),
    (("blur", "soft focus", "dreamy"), _blur),
    (("sharpen", "sharper", "crisp"), _sharpen),
    (("invert", "negative"), _invert),
)


def effects_for(prompt: str) -> list[Effect]:
    words = prompt.lower()
    return [effect for keys, effect in _EFFECTS if any(k in words for k in keys)]


def _tint(image: Image.Image, prompt: str) -> Image.Image:
    """A subtle wash of one colour picked by the prompt's hash."""
    rng = random.Random(seed_for("tint", prompt))
    r, g, b = colorsys.hsv_to_rgb(rng.random(), 0.65, 1.0)
    wash = Image.new("RGB", image.size, (round(r * 255), round(g * 255), round(b * 255)))
    return Image.blend(image, wash, 0.16)


def apply_effects(image: Image.Image, prompt: str) -> Image.Image:
    """``image`` (RGB) edited as ``prompt`` says; never pixel-identical to it."""
    edited = image
    for effect in effects_for(prompt):
        edited = effect(edited)
    if edited is image or ImageChops.difference(edited, image).getbbox() is None:
        edited = _tint(edited, prompt)
    return edited


def apply_mask(original: Image.Image, edited: Image.Image, mask: Image.Image) -> Image.Image:
    """Keep ``original`` where ``mask`` is opaque; take ``edited`` where it is transparent."""
    change = ImageOps.invert(mask.convert("RGBA").getchannel("A"))
    return Image.composite(edited, original, change)
