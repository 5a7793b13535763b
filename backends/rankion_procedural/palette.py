"""Colour schemes for the procedural scenes, picked from the prompt's words."""

from __future__ import annotations

import colorsys
import random

from attrs import define

__all__ = ["RGB", "Palette", "pick_palette"]

RGB = tuple[int, int, int]


@define(frozen=True)
class Palette:
    name: str
    sky_top: RGB
    sky_bottom: RGB
    sun: RGB
    ranges: tuple[RGB, RGB, RGB]  # far to near
    ground: RGB
    water: bool
    stars: bool = False


_PALETTES: dict[str, Palette] = {
    "sunset": Palette(
        "sunset",
        (44, 32, 92),
        (252, 146, 84),
        (255, 226, 150),
        ((150, 82, 110), (96, 50, 90), (48, 28, 58)),
        (34, 22, 44),
        water=True,
    ),
    "night": Palette(
        "night",
        (6, 10, 32),
        (40, 58, 110),
        (236, 236, 214),
        ((48, 62, 104), (30, 40, 76), (14, 20, 42)),
        (10, 14, 30),
        water=True,
        stars=True,
    ),
    "forest": Palette(
        "forest",
        (120, 176, 220),
        (214, 234, 226),
        (255, 248, 220),
        ((112, 150, 140), (58, 110, 76), (24, 70, 44)),
        (20, 56, 34),
        water=False,
    ),
    "ocean": Palette(
        "ocean",
        (40, 110, 190),
        (170, 214, 236),
        (255, 250, 230),
        ((110, 150, 180), (70, 110, 150), (40, 76, 110)),
        (30, 70, 110),
        water=True,
    ),
    "desert": Palette(
        "desert",
        (90, 150, 214),
        (250, 214, 170),
        (255, 244, 214),
        ((214, 150, 100), (190, 112, 68), (150, 80, 46)),
        (214, 170, 110),
        water=False,
    ),
    "winter": Palette(
        "winter",
        (130, 160, 200),
        (228, 236, 244),
        (255, 255, 246),
        ((200, 212, 228), (160, 180, 206), (110, 130, 160)),
        (236, 240, 246),
        water=False,
    ),
}

_KEYWORDS: dict[str, tuple[str, ...]] = {
    "sunset": ("sunset", "sunrise", "dusk", "dawn", "golden", "evening", "warm"),
    "night": ("night", "moon", "star", "dark", "midnight", "galaxy"),
    "forest": ("forest", "tree", "wood", "jungle", "green", "garden", "meadow"),
    "ocean": ("ocean", "sea", "lake", "beach", "river", "water", "coast", "blue"),
    "desert": ("desert", "sand", "dune", "canyon", "mars", "autumn"),
    "winter": ("winter", "snow", "ice", "frost", "arctic", "glacier", "cold"),
}


def pick_palette(prompt: str, rng: random.Random) -> Palette:
    """The palette the prompt asks for (first keyword wins), else a seeded one,
    with its hues nudged a little so two prompts rarely look the same."""
    words = prompt.lower()
    chosen = next(
        (name for name, keys in _KEYWORDS.items() if any(k in words for k in keys)),
        rng.choice(sorted(_PALETTES)),
    )
    return _nudge(_PALETTES[chosen], rng.uniform(-0.04, 0.04))


def _nudge(palette: Palette, shift: float) -> Palette:
    near = tuple(_shift(c, shift) for c in palette.ranges)
    return Palette(
        palette.name,
        _shift(palette.sky_top, shift),
        _shift(palette.sky_bottom, shift),
        palette.sun,
        (near[0], near[1], near[2]),
        _shift(palette.ground, shift),
        palette.water,
        palette.stars,
    )


def _shift(color: RGB, shift: float) -> RGB:
    h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in color))
    r, g, b = colorsys.hsv_to_rgb((h + shift) % 1.0, s, v)
    return (round(r * 255), round(g * 255), round(b * 255))
