"""The hash distance as the SQL backend counts it (``hashes.hash_distance``) equals
``rules.similar.distance``: SQLite's spelled-out bit count over edge values (signs,
the extremes, alternating bits) and random pairs, and ``similar``'s own statement on
SQLite and PostgreSQL."""

from __future__ import annotations

import random
from itertools import product

from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import BigInteger, bindparam, create_engine, func, select

from rankion_core.rules.similar import distance, to_signed
from rankion_core.testing.builders import add_images, image, two_teams
from rankion_sqlalchemy import SqlStorage
from rankion_sqlalchemy.hashes import hash_distance

EDGES = [
    0,
    1,
    -1,
    -2,
    2**63 - 1,
    -(2**63),
    2**62,
    -(2**62),
    2**31,
    2**32 - 1,
    to_signed(0x5555_5555_5555_5555),
    to_signed(0xAAAA_AAAA_AAAA_AAAA),
    to_signed(0x8000_0000_0000_0001),
    to_signed(0x7FFF_FFFF_0000_0000),
    to_signed(0x0123_4567_89AB_CDEF),
]
stored = st.integers(min_value=-(2**63), max_value=2**63 - 1)
bits = st.sets(st.integers(min_value=0, max_value=63))

_DISTANCE = hash_distance(
    "sqlite", bindparam("a", type_=BigInteger), bindparam("b", type_=BigInteger)
)
#: the count and its SQLite type: an overflow would have turned it into a float
_COUNTED = select(_DISTANCE, func.typeof(_DISTANCE))
_SQLITE = create_engine("sqlite://")


def counted_by_sqlite(pairs: list[tuple[int, int]]) -> list[tuple[int, str]]:
    with _SQLITE.connect() as connection:
        return [tuple(connection.execute(_COUNTED, {"a": a, "b": b}).one()) for a, b in pairs]  # type: ignore[misc]


def test_sqlite_counts_the_edge_values_as_python() -> None:
    pairs = list(product(EDGES, EDGES))
    assert counted_by_sqlite(pairs) == [(distance(a, b), "integer") for a, b in pairs]


@given(stored, stored)
@example(-1, 2**63 - 1)
@example(-(2**63), 2**63 - 1)
def test_sqlite_counts_random_pairs_as_python(a: int, b: int) -> None:
    assert counted_by_sqlite([(a, b)]) == [(distance(a, b), "integer")]


@given(stored, bits)
def test_sqlite_counts_every_distance_as_python(a: int, flipped: set[int]) -> None:
    b = to_signed(a ^ sum(1 << bit for bit in flipped))
    assert counted_by_sqlite([(a, b), (b, a)]) == [(len(flipped), "integer")] * 2


def test_sqlite_gives_null_for_a_missing_hash() -> None:
    with _SQLITE.connect() as connection:
        assert connection.execute(select(_DISTANCE), {"a": None, "b": 5}).scalar() is None


async def test_similar_counts_the_distance_of_every_stored_hash(sql_storage: SqlStorage) -> None:
    """``similar``'s statement itself, widest (every hash of the team compared): each
    distance, the order (closest first, then by id), the total, a page past the last."""
    rng = random.Random(64)
    hashes = EDGES + [to_signed(rng.getrandbits(64)) for _ in range(25)]
    team, other = await two_teams(sql_storage)
    added = await add_images(
        sql_storage,
        *(image(team, phash=h) for h in hashes),
        image(other, phash=0),
    )
    for query in EDGES:
        expected = sorted((distance(i.phash or 0, query), i.id) for i in added[:-1])
        async with sql_storage.unit_of_work() as uow:
            found, total = await uow.images.similar(team, query, 64, 0, 1, 500)
            past, past_total = await uow.images.similar(team, query, 64, 0, 9, 10)
        assert [(d, i.id) for i, d in found] == expected
        assert (past, past_total) == ([], total) == ([], len(hashes))
