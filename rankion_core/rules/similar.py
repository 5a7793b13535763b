"""Perceptual hashes: how far apart two pictures are, in bits.

A hash is 64 bits; storage keeps it as a signed 64-bit integer (SQL's ``BIGINT``),
the API shows it as 16 hex digits. Two pictures within a few bits are near
duplicates; ``MAX_DISTANCE`` bounds what ``similar`` may be asked for.
"""

from __future__ import annotations

__all__ = ["DEFAULT_DISTANCE", "MAX_DISTANCE", "distance", "phash_hex", "to_signed"]

DEFAULT_DISTANCE = 8
MAX_DISTANCE = 32
_MASK = (1 << 64) - 1


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
