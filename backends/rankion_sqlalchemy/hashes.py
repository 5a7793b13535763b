"""How many bits two perceptual hashes differ in (``rules.similar.distance``), in SQL.

Hashes are stored as signed 64-bit integers. **PostgreSQL** counts the bits of the
XOR (``bit_count((a # b)::bit(64))``). **SQLite** has no bit count and no XOR, so
the count is spelled out with its integer operators, to run entirely inside SQLite
(a Python function would take the interpreter's lock for every row compared, and a
wide ``similar`` compares every hash of the team: meanwhile the event loop, and every
other team's request, waited). SQLite integers are signed 64-bit, ``>>`` of a
negative number brings in ones, and a ``+``, ``-`` or ``*`` that overflows turns the
value into a floating-point one; each step below stays an exact integer:

1. ``x = (a | b) - (a & b)``, the XOR: the two differ in no bit that ``a & b`` has,
   and the difference never leaves the signed 64-bit range.
2. The low 63 bits of ``x``, in 21 groups of 3 bits: ``v - (v >> 1) - (v >> 2)``
   within a group is its bit count (HAKMEM 169); the masks keep the shifted bits in
   their group and leave bit 63 out, so everything stays between 0 and 2^63 - 1.
3. Neighbouring groups' counts summed into 11 fields of 6 bits (at most 6 each).
4. The fields summed with ``% 63`` (64 ≡ 1 mod 63); ``(n - 1) % 63 + 1`` keeps a
   count of 63 (every low bit set) from wrapping to 0, and 0 stays 0 (SQLite's ``%``
   keeps the sign of ``-1``).
5. Bit 63: whether exactly one of the two is negative.

No multiplication (the usual ``* 0x0101010101010101`` byte sum overflows).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, Integer, cast, func, literal_column, type_coerce
from sqlalchemy.dialects.postgresql import BIT

__all__ = ["hash_distance"]

_LOW_BITS = (1 << 63) - 1
#: per 3-bit group of the low 63 bits: its two lower bits, its lowest bit
_GROUP_LOW_TWO = sum(0b011 << s for s in range(0, 63, 3))
_GROUP_LOW_ONE = sum(0b001 << s for s in range(0, 63, 3))
#: per 6-bit field: its lower 3 bits (where two groups' counts were summed)
_FIELD_LOW_THREE = sum(0b111 << s for s in range(0, 63, 6))


def _number(value: int) -> ColumnElement[int]:
    return literal_column(str(value), BigInteger)


def hash_distance(dialect: str, a: ColumnElement[int], b: ColumnElement[int]) -> ColumnElement[int]:
    """The number of bits ``a`` and ``b`` (stored hashes) differ in, 0..64; NULL when
    either is NULL."""
    if dialect == "postgresql":
        return func.bit_count(cast(a.op("#")(b), BIT(64)), type_=Integer)
    x = a.bitwise_or(b) - a.bitwise_and(b)
    groups = (
        x.bitwise_and(_number(_LOW_BITS))
        - x.bitwise_rshift(_number(1)).bitwise_and(_number(_GROUP_LOW_TWO))
        - x.bitwise_rshift(_number(2)).bitwise_and(_number(_GROUP_LOW_ONE))
    )
    fields = (groups + groups.bitwise_rshift(_number(3))).bitwise_and(_number(_FIELD_LOW_THREE))
    low = (fields - _number(1)) % _number(63) + _number(1)
    top = type_coerce((a < _number(0)) != (b < _number(0)), Integer)
    return type_coerce(low + top, Integer)
