"""A deterministic landscape drawn from a prompt: sky, sun, haze, mountains, water.

Everything is done with Pillow's C-level operations (gradients, LUTs, polygons,
masked pastes); Python only computes a few dozen ridge points.
"""

from __future__ import annotations

import hashlib
import itertools
import random

from attrs import define
from PIL import Image, ImageChops, ImageDraw, ImageFilter

from .palette import RGB, Palette, pick_palette

__all__ = ["render", "seed_for", "vertical_gradient"]

_OVERLAY_SCALE = 4  # the soft layers (glow, clouds) are drawn at 1/4 size, then scaled up


def seed_for(*parts: str) -> int:
    """A stable 64-bit seed from text (``hash()`` is salted per process)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def vertical_gradient(top: RGB, bottom: RGB, width: int, height: int) -> Image.Image:
    """An RGB image fading from ``top`` to ``bottom``, built 1 px wide and stretched."""
    ramp = Image.linear_gradient("L").crop((0, 0, 1, 256))
    bands = [
        ramp.point([round(a + (b - a) * v / 255) for v in range(256)])
        for a, b in zip(top, bottom, strict=True)
    ]
    column = Image.merge("RGB", bands).resize((1, height), Image.Resampling.BILINEAR)
    return column.resize((width, height), Image.Resampling.NEAREST)


@define
class _Canvas:
    rgb: Image.Image
    alpha: Image.Image | None  # 0 where only sky shows; None for an opaque picture
    rng: random.Random
    palette: Palette
    horizon: int

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.size

    def polygon(self, points: list[tuple[float, float]], fill: RGB) -> None:
        ImageDraw.Draw(self.rgb).polygon(points, fill=fill)
        if self.alpha is not None:
            ImageDraw.Draw(self.alpha).polygon(points, fill=255)

    def opaque(self, box: tuple[float, float, float, float], shape: str = "rectangle") -> None:
        """Mark ``box`` (a rectangle or an ellipse) as foreground in the alpha."""
        if self.alpha is None:
            return
        if shape == "ellipse":
            ImageDraw.Draw(self.alpha).ellipse(box, fill=255)
        else:
            left, top, right, bottom = (round(v) for v in box)
            self.alpha.paste(255, (left, top, right, bottom))


def render(
    prompt: str, width: int, height: int, quality: str, *, transparent: bool = False
) -> Image.Image:
    """The picture for ``prompt``: RGB, or RGBA with a see-through sky."""
    rng = random.Random(seed_for(prompt, f"{width}x{height}", quality))
    palette = pick_palette(prompt, rng)
    horizon = int(height * rng.uniform(0.56, 0.68))
    canvas = _Canvas(
        rgb=Image.new("RGB", (width, height)),
        alpha=Image.new("L", (width, height), 0) if transparent else None,
        rng=rng,
        palette=palette,
        horizon=horizon,
    )
    sun = _place_sun(canvas)
    _sky(canvas, sun)
    if palette.stars:
        _stars(canvas)
    _sun_disc(canvas, sun)
    _mountains(canvas, layers=2 if quality == "low" else 3)
    if palette.water:
        _water(canvas, sun)
    else:
        _land(canvas)
    if canvas.alpha is not None:
        canvas.rgb.putalpha(canvas.alpha)
    return canvas.rgb


def _stars(canvas: _Canvas) -> None:
    width, _ = canvas.size
    draw = ImageDraw.Draw(canvas.rgb)
    for _ in range(width * canvas.horizon // 3000):
        x, y = canvas.rng.uniform(0, width), canvas.rng.uniform(0, canvas.horizon * 0.8)
        r = canvas.rng.choice((0.6, 0.8, 1.2, 1.8)) * width / 1024
        shade = canvas.rng.randint(170, 255)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(shade, shade, min(255, shade + 20)))


def _place_sun(canvas: _Canvas) -> tuple[float, float, float]:
    width, height = canvas.size
    r = min(width, height) * canvas.rng.uniform(0.05, 0.09)
    x = width * canvas.rng.uniform(0.2, 0.8)
    y = canvas.horizon - height * canvas.rng.uniform(0.2, 0.36)
    return x, y, r


def _sun_disc(canvas: _Canvas, sun: tuple[float, float, float]) -> None:
    x, y, r = sun
    ImageDraw.Draw(canvas.rgb).ellipse((x - r, y - r, x + r, y + r), fill=canvas.palette.sun)
    canvas.opaque((x - r, y - r, x + r, y + r), "ellipse")


def _sky(canvas: _Canvas, sun: tuple[float, float, float]) -> None:
    """Gradient, a glow round the sun and a few clouds: all smooth, so they are
    drawn at a quarter of the size and scaled up once."""
    width = canvas.size[0]
    small = (max(1, width // _OVERLAY_SCALE), max(1, canvas.horizon // _OVERLAY_SCALE))
    sky = vertical_gradient(canvas.palette.sky_top, canvas.palette.sky_bottom, *small)
    glow, clouds = Image.new("L", small, 0), Image.new("L", small, 0)
    x, y, r = (v / _OVERLAY_SCALE for v in sun)
    ImageDraw.Draw(glow).ellipse((x - 3 * r, y - 3 * r, x + 3 * r, y + 3 * r), fill=110)
    _clouds(ImageDraw.Draw(clouds), canvas.rng, small, small[1])
    blur = ImageFilter.GaussianBlur(max(1.0, r * 1.2))
    glow, clouds = glow.filter(blur), clouds.filter(blur)
    sky.paste(canvas.palette.sun, (0, 0, *small), glow)
    sky.paste((250, 248, 244), (0, 0, *small), clouds)
    full = (width, canvas.horizon)
    canvas.rgb.paste(sky.resize(full, Image.Resampling.BILINEAR), (0, 0))
    if canvas.alpha is not None:
        soft = ImageChops.lighter(glow, clouds).resize(full, Image.Resampling.BILINEAR)
        canvas.alpha.paste(soft, (0, 0))


def _clouds(
    draw: ImageDraw.ImageDraw, rng: random.Random, size: tuple[int, int], horizon: float
) -> None:
    width, _ = size
    for _ in range(rng.randint(2, 5)):
        cx, cy = rng.uniform(0, width), rng.uniform(horizon * 0.1, horizon * 0.55)
        for _ in range(rng.randint(3, 6)):
            rx, ry = width * rng.uniform(0.04, 0.1), width * rng.uniform(0.015, 0.035)
            dx, dy = rng.uniform(-2, 2) * rx, rng.uniform(-0.6, 0.6) * ry
            draw.ellipse((cx + dx - rx, cy + dy - ry, cx + dx + rx, cy + dy + ry), fill=150)


def _ridge(rng: random.Random, width: int, base: float, rough: float) -> list[tuple[float, float]]:
    """A mountain ridge by midpoint displacement: 65 points across the width."""
    heights = [base + rng.uniform(-rough, rough), base + rng.uniform(-rough, rough)]
    while len(heights) < 65:
        nxt = [heights[0]]
        for a, b in itertools.pairwise(heights):
            nxt += [(a + b) / 2 + rng.uniform(-rough, rough), b]
        heights, rough = nxt, rough * 0.55
    step = width / (len(heights) - 1)
    return [(i * step, h) for i, h in enumerate(heights)]


def _mountains(canvas: _Canvas, layers: int) -> None:
    width, height = canvas.size
    for i, color in enumerate(canvas.palette.ranges[-layers:]):
        depth = (i + 1) / layers
        base = canvas.horizon - height * (0.2 - 0.12 * depth) * canvas.rng.uniform(0.7, 1.2)
        ridge = _ridge(canvas.rng, width, base, height * 0.08 * (1.2 - depth * 0.5))
        haze = 0.45 * (1 - depth)
        fill = _mix(color, canvas.palette.sky_bottom, haze)
        canvas.polygon([*ridge, (width, canvas.horizon), (0, canvas.horizon)], fill)


def _water(canvas: _Canvas, sun: tuple[float, float, float]) -> None:
    """Below the horizon: the scene mirrored, darkened, with a glitter path."""
    width, height = canvas.size
    depth = height - canvas.horizon
    top = max(0, canvas.horizon - depth)
    mirror = canvas.rgb.crop((0, top, width, canvas.horizon)).transpose(
        Image.Transpose.FLIP_TOP_BOTTOM
    )
    if mirror.size != (width, depth):
        mirror = mirror.resize((width, depth), Image.Resampling.BILINEAR)
    shade = Image.new("RGB", mirror.size, _mix(canvas.palette.ranges[-1], (0, 0, 0), 0.4))
    canvas.rgb.paste(Image.blend(mirror, shade, 0.45), (0, canvas.horizon))
    canvas.opaque((0, canvas.horizon, width, height))
    _glitter(canvas, sun)


def _glitter(canvas: _Canvas, sun: tuple[float, float, float]) -> None:
    height = canvas.size[1]
    x, _, r = sun
    draw = ImageDraw.Draw(canvas.rgb)
    color = _mix(canvas.palette.sun, canvas.palette.ranges[-1], 0.35)
    y = canvas.horizon + 2.0
    while y < height:
        half = r * canvas.rng.uniform(0.3, 1.4) * (1 + (y - canvas.horizon) / height)
        offset = canvas.rng.uniform(-0.3, 0.3) * r
        draw.line((x + offset - half, y, x + offset + half, y), fill=color, width=1)
        y += max(2.0, height / 160) * canvas.rng.uniform(0.8, 1.8)


def _land(canvas: _Canvas) -> None:
    """Below the horizon: rolling ground with one more hill line in front."""
    width, height = canvas.size
    ground = canvas.palette.ground
    fill = vertical_gradient(ground, _mix(ground, (0, 0, 0), 0.45), width, height - canvas.horizon)
    canvas.rgb.paste(fill, (0, canvas.horizon))
    canvas.opaque((0, canvas.horizon, width, height))
    ridge = _ridge(canvas.rng, width, canvas.horizon + height * 0.1, height * 0.03)
    hill = _mix(ground, (0, 0, 0), 0.25)
    canvas.polygon([*ridge, (width, height), (0, height)], hill)


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )
