"""The perceptual hash (pHash) of a picture: 64 bits that move little when the picture
is resized, re-encoded or slightly retouched, so near-duplicates sit a few bits apart.

The construction is the common one (as in the ``imagehash`` package): the picture in
grey at 32x32, its 2-D DCT-II, the 8x8 lowest frequencies, each bit set where the
coefficient is above their median; bits row by row, the first one the highest. Only
the 64 coefficients needed are computed (about 10,000 multiplications).
"""

from __future__ import annotations

import math
import statistics

from PIL import Image

__all__ = ["SIDE", "phash", "phash_of_grey"]

SIDE = 32
_LOW = 8
_COS = [
    [math.cos(math.pi * k * (2 * n + 1) / (2 * SIDE)) for n in range(SIDE)] for k in range(_LOW)
]


def phash_of_grey(pixels: bytes) -> int:
    """The hash of a 32x32 greyscale picture given as 1,024 bytes, row by row."""
    if len(pixels) != SIDE * SIDE:
        raise ValueError(f"expected {SIDE * SIDE} grey pixels, got {len(pixels)}")
    rows = [pixels[y * SIDE : (y + 1) * SIDE] for y in range(SIDE)]
    # vertical frequencies first: column[x] of frequency v = sum over y
    by_v = [
        [sum(rows[y][x] * cos_v[y] for y in range(SIDE)) for x in range(SIDE)] for cos_v in _COS
    ]
    low = [sum(a * c for a, c in zip(col, cos_u, strict=True)) for col in by_v for cos_u in _COS]
    median = statistics.median(low)
    value = 0
    for coefficient in low:
        value = (value << 1) | (coefficient > median)
    return value


def phash(image: Image.Image) -> int:
    """The 64-bit pHash of ``image`` (any mode), as an unsigned integer."""
    grey = image.convert("L").resize((SIDE, SIDE), Image.Resampling.LANCZOS)
    return phash_of_grey(grey.tobytes())
