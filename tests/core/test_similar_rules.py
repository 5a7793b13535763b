"""Hash bands (``rules.similar``): probing the bands finds exactly what comparing
every hash finds, at every distance the bands are used for."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rankion_core.rules.similar import (
    BAND_SHIFTS,
    MAX_BAND_RADIUS,
    MAX_DISTANCE,
    band,
    band_probes,
    distance,
    to_signed,
)

unsigned = st.integers(min_value=0, max_value=2**64 - 1)
distances = st.integers(min_value=0, max_value=MAX_DISTANCE)
#: bits to flip, a few per band: spread over the bands is where the pigeonhole is tight
flips = st.tuples(
    *(st.lists(st.integers(min_value=0, max_value=15), max_size=5) for _ in BAND_SHIFTS)
).map(lambda per_band: {s + b for s, bits in zip(BAND_SHIFTS, per_band, strict=True) for b in bits})


def banded(hashes: list[int], phash: int, max_distance: int) -> list[tuple[int, int]] | None:
    """What storage does with the bands: the hashes whose band value is among a
    band's probes, then their real distance; None where it compares every hash."""
    probes = band_probes(phash, max_distance)
    if probes is None:
        return None
    wanted = [(shift, set(values)) for shift, values in probes]
    found = [h for h in hashes if any(band(h, shift) in values for shift, values in wanted)]
    return sorted((distance(h, phash), h) for h in found if distance(h, phash) <= max_distance)


def everything(hashes: list[int], phash: int, max_distance: int) -> list[tuple[int, int]]:
    return sorted((distance(h, phash), h) for h in hashes if distance(h, phash) <= max_distance)


@given(unsigned, st.lists(flips, max_size=30), st.lists(unsigned, max_size=5), distances)
def test_bands_find_what_comparing_every_hash_finds(
    query: int, near: list[set[int]], far: list[int], max_distance: int
) -> None:
    phash = to_signed(query)
    hashes = [to_signed(query ^ sum(1 << b for b in bits)) for bits in near]
    hashes += [to_signed(h) for h in far]
    # each near hash's own distance too: the edge where a band's probes must reach it
    for reach in {max_distance, *(distance(h, phash) for h in hashes)}:
        answer = banded(hashes, phash, reach)
        if answer is None:
            assert reach // len(BAND_SHIFTS) > MAX_BAND_RADIUS
            continue
        assert answer == everything(hashes, phash, reach), reach


@given(unsigned, flips)
def test_a_hash_within_reach_shares_a_probed_band(a: int, bits: set[int]) -> None:
    b = a ^ sum(1 << bit for bit in bits)
    d = distance(a, b)
    probes = band_probes(to_signed(a), d)
    if probes is None:
        assert d >= len(BAND_SHIFTS) * (MAX_BAND_RADIUS + 1)
        return
    assert any(band(to_signed(b), shift) in values for shift, values in probes)


@given(unsigned)
def test_a_band_is_the_same_for_the_signed_and_the_unsigned_hash(value: int) -> None:
    for shift in BAND_SHIFTS:
        assert band(to_signed(value), shift) == band(value, shift) == (value >> shift) & 0xFFFF


def test_bands_cover_the_default_and_stop_where_the_scan_is_cheaper() -> None:
    counts = {d: band_probes(0, d) for d in range(MAX_DISTANCE + 1)}
    probed = {d: sum(len(v) for _, v in p) for d, p in counts.items() if p is not None}
    assert max(probed) == 15 and all(counts[d] is None for d in range(16, MAX_DISTANCE + 1))
    assert (probed[0], probed[4], probed[8], probed[12]) == (4, 4 * 17, 4 * 137, 4 * 697)
    for d, probes in counts.items():
        for _, values in probes or []:
            assert len(set(values)) == len(values) and all(0 <= v < 2**16 for v in values), d
