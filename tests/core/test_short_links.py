"""Short-lived links: ``short_expiry`` never outlives its window and repeats on a grid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rankion_core.signing import short_expiry

NOW = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(now=NOW, seconds=st.integers(min_value=1, max_value=3600))
def test_a_short_link_lives_more_than_half_its_window_and_never_longer(
    now: datetime, seconds: int
) -> None:
    expires = short_expiry(now, seconds)
    left = (expires - now).total_seconds()
    assert left <= seconds
    assert left > seconds - max(1, seconds // 2) - 1  # the grid step, and the lost microseconds


def test_the_same_link_is_handed_out_within_a_step() -> None:
    start = datetime(2026, 5, 15, 9, 0, 0, tzinfo=UTC)
    same = {short_expiry(start + timedelta(seconds=s), 60) for s in range(30)}
    assert same == {start + timedelta(seconds=60)}
    assert short_expiry(start + timedelta(seconds=30), 60) == start + timedelta(seconds=90)
