"""Perceptual hashes: how far apart two pictures are, in bits, and how storage finds
the near ones without reading every hash.

A hash is 64 bits; storage keeps it as a signed 64-bit integer (SQL's ``BIGINT``),
the API shows it as 16 hex digits. Two pictures within a few bits are near
duplicates; ``MAX_DISTANCE`` bounds what ``similar`` may be asked for.

Hash bands (multi-index hashing): the 64 bits are cut into ``len(BAND_SHIFTS)``
disjoint bands of ``BAND_BITS`` bits, each ``(hash >> shift) & BAND_MASK`` (the same
on the signed and the unsigned value). Two hashes ``d`` bits apart share their
differing bits out among the bands, so in at least one band they differ in at most
``d // len(BAND_SHIFTS)`` bits (pigeonhole). Storage indexes each band's value; a
query asks each band's index for the values within that many bits of the query's
band (``band_probes``), counts the real distance of what it finds, and keeps those
within ``d``: the same answer as comparing every hash. Past ``MAX_BAND_RADIUS`` the
probes outnumber what they save and storage compares every hash instead.
"""

from __future__ import annotations

from functools import cache
from itertools import combinations

__all__ = [
    "BAND_BITS",
    "BAND_MASK",
    "BAND_SHIFTS",
    "DEFAULT_DISTANCE",
    "MAX_BAND_RADIUS",
    "MAX_DISTANCE",
    "band",
    "band_probes",
    "distance",
    "phash_hex",
    "to_signed",
]

DEFAULT_DISTANCE = 8
MAX_DISTANCE = 32
_MASK = (1 << 64) - 1

#: four bands of 16 bits, highest first
BAND_BITS = 16
BAND_MASK = (1 << BAND_BITS) - 1
BAND_SHIFTS = (48, 32, 16, 0)
#: the most bits a band's probes may differ in (distance 15); 4 above it is slower
#: than the scan on PostgreSQL (benchmarks/README.md)
MAX_BAND_RADIUS = 3


def to_signed(value: int) -> int:
    """An unsigned 64-bit hash as the signed integer storage keeps."""
    value &= _MASK
    return value - (1 << 64) if value >= 1 << 63 else value


def phash_hex(stored: int) -> str:
    """The stored (signed) hash as 16 lowercase hex digits."""
    return format(stored & _MASK, "016x")


def distance(a: int, b: int) -> int:
    """How many of the 64 bits differ (signed or unsigned, alike)."""
    return ((a ^ b) & _MASK).bit_count()


def band(phash: int, shift: int) -> int:
    """The band of ``phash`` starting at bit ``shift`` (0..65535): what its index holds."""
    return (phash >> shift) & BAND_MASK


@cache
def _flips(radius: int) -> tuple[int, ...]:
    """Every band mask of at most ``radius`` set bits, fewest first (0 first)."""
    return tuple(
        sum(1 << b for b in bits)
        for flipped in range(radius + 1)
        for bits in combinations(range(BAND_BITS), flipped)
    )


def band_probes(phash: int, max_distance: int) -> list[tuple[int, list[int]]] | None:
    """Per band, ``(shift, values)``: every hash within ``max_distance`` bits of
    ``phash`` has its band at ``shift`` among ``values`` for at least one band. None
    when ``max_distance`` is too wide for bands to pay (compare every hash then)."""
    radius = max_distance // len(BAND_SHIFTS)
    if radius > MAX_BAND_RADIUS:
        return None
    return [(shift, [band(phash, shift) ^ m for m in _flips(radius)]) for shift in BAND_SHIFTS]
