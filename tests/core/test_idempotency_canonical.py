"""The canonical form behind idempotency fingerprints: numbers compare by value, key
order does not matter, and values that differ never share a fingerprint."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rankion_core.errors import Invalid
from rankion_core.rules.idempotency import fingerprint

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


def _fp(body: Any) -> str:
    return fingerprint("POST", "/v1/generate/image", body)


def _as_floats(value: Any) -> Any:
    """The same JSON value with every whole number that a double holds exactly spelled
    as a float (``1`` → ``1.0``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) <= 2**53:
        return float(value)
    if isinstance(value, list):
        return [_as_floats(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_floats(v) for k, v in reversed(value.items())}
    return value


def _same(a: Any, b: Any) -> bool:
    """JSON equality by value: bools are not numbers, numbers compare exactly."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b  # Python compares int and float exactly
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@given(values)
def test_spelling_and_key_order_do_not_matter(body: Any) -> None:
    assert _fp(body) == _fp(_as_floats(body))


@given(values, values)
def test_values_that_differ_have_different_fingerprints(a: Any, b: Any) -> None:
    assert (_fp(a) == _fp(b)) == _same(a, b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"n": True}, {"n": 1}),
        ({"n": False}, {"n": 0}),
        ({"n": 1.5}, {"n": 1}),
        ({"n": 2**64 - 1}, {"n": float(2**64)}),  # 18446744073709551615 ≠ 1.8446744073709552e19
        ({"n": None}, {"n": 0}),
        ({"n": "1"}, {"n": 1}),
    ],
)
def test_these_differ(a: Any, b: Any) -> None:
    assert _fp(a) != _fp(b)


def test_these_are_equal() -> None:
    assert _fp({"n": 1, "m": [2]}) == _fp({"m": [2.0], "n": 1.0})
    assert _fp({"n": 0}) == _fp({"n": -0.0})
    assert _fp({"n": 1e20}) == _fp({"n": 10**20})
    assert math.isclose(1e20, 10**20)


def test_nesting_is_bounded() -> None:
    deep: Any = 1
    for _ in range(200):
        deep = [deep]
    with pytest.raises(Invalid):
        _fp(deep)
