"""ThumbHash (Evan Wallace's published algorithm, https://evanw.github.io/thumbhash/):
a placeholder of about 25 bytes from which a browser draws a blurred preview.

``rgba_to_thumbhash`` follows the reference encoder step for step (average colour,
LPQA channels composited over it, a DCT per channel, the same header and nibble
layout), with the DCT computed separably (row sums first) so that a 100x100 picture
costs tens of thousands of multiplications, not millions. Rounding is JavaScript's
``Math.round`` (half up), so the bytes equal the reference's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["MAX_SIDE", "rgba_to_thumbhash"]

#: the reference refuses larger inputs: more pixels add nothing to a ~25-byte hash
MAX_SIDE = 100


def _round(x: float) -> int:
    return math.floor(x + 0.5)


def _encode_channel(
    channel: Sequence[float], w: int, h: int, nx: int, ny: int
) -> tuple[float, list[float], float]:
    rows = [channel[y * w : (y + 1) * w] for y in range(h)]
    projected: dict[int, list[float]] = {}  # cx -> each row's sum against cos(cx)
    dc, ac, scale = 0.0, [], 0.0
    for cy in range(ny):
        fy = [math.cos(math.pi / h * cy * (y + 0.5)) for y in range(h)]
        cx = 0
        while cx * ny < nx * (ny - cy):
            if cx not in projected:
                fx = [math.cos(math.pi / w * cx * (x + 0.5)) for x in range(w)]
                projected[cx] = [sum(v * c for v, c in zip(r, fx, strict=True)) for r in rows]
            f = sum(a * b for a, b in zip(projected[cx], fy, strict=True)) / (w * h)
            if cx or cy:
                ac.append(f)
                scale = max(scale, abs(f))
            else:
                dc = f
            cx += 1
    if scale:
        ac = [0.5 + 0.5 / scale * f for f in ac]
    return dc, ac, scale


def rgba_to_thumbhash(w: int, h: int, rgba: bytes) -> bytes:
    """The ThumbHash of a ``w`` x ``h`` picture given as RGBA bytes (at most 100x100)."""
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE) or len(rgba) != w * h * 4:
        raise ValueError(f"{w}x{h} RGBA of {len(rgba)} bytes does not fit in 100x100")
    n = w * h
    alphas = [rgba[j + 3] / 255 for j in range(0, 4 * n, 4)]
    avg_a = sum(alphas)
    avg = [0.0, 0.0, 0.0]
    for i, alpha in enumerate(alphas):
        for k in range(3):
            avg[k] += alpha / 255 * rgba[4 * i + k]
    if avg_a:
        avg = [v / avg_a for v in avg]
    has_alpha = avg_a < n
    l_limit = 5 if has_alpha else 7
    lx = max(1, _round(l_limit * w / max(w, h)))
    ly = max(1, _round(l_limit * h / max(w, h)))
    lum, p, q = [0.0] * n, [0.0] * n, [0.0] * n
    for i, alpha in enumerate(alphas):
        j = 4 * i
        r = avg[0] * (1 - alpha) + alpha / 255 * rgba[j]
        g = avg[1] * (1 - alpha) + alpha / 255 * rgba[j + 1]
        b = avg[2] * (1 - alpha) + alpha / 255 * rgba[j + 2]
        lum[i], p[i], q[i] = (r + g + b) / 3, (r + g) / 2 - b, r - g
    l_dc, l_ac, l_scale = _encode_channel(lum, w, h, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = _encode_channel(p, w, h, 3, 3)
    q_dc, q_ac, q_scale = _encode_channel(q, w, h, 3, 3)
    landscape = w > h
    header24 = (
        _round(63 * l_dc)
        | (_round(31.5 + 31.5 * p_dc) << 6)
        | (_round(31.5 + 31.5 * q_dc) << 12)
        | (_round(31 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if landscape else lx)
        | (_round(63 * p_scale) << 3)
        | (_round(63 * q_scale) << 9)
        | (int(landscape) << 15)
    )
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    channels = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = _encode_channel(alphas, w, h, 5, 5)
        out.append(_round(15 * a_dc) | (_round(15 * a_scale) << 4))
        channels.append(a_ac)
    start = len(out)
    factors = [f for ac in channels for f in ac]
    out.extend([0] * ((len(factors) + 1) // 2))
    for index, f in enumerate(factors):
        out[start + (index >> 1)] |= _round(15 * f) << ((index & 1) << 2)
    return bytes(out)
