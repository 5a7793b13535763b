"""The per-process cache of resolved share tokens: bounded, short-lived, forgetful."""

from __future__ import annotations

from datetime import timedelta

from rankion_core.models import Share
from rankion_core.services.resolved import (
    LOOKUP_ENTRIES,
    LOOKUP_SECONDS,
    ResolvedShares,
    SharedImage,
)
from rankion_core.testing.builders import T0, image


def _shared(n: int) -> SharedImage:
    return SharedImage(Share(n, 1, n, f"token-{n}", T0), image(1, id=n))


def test_an_entry_lives_at_most_the_lookup_time() -> None:
    cache = ResolvedShares()
    cache.keep("token-1", T0, _shared(1))
    assert cache.get("token-1", T0 + timedelta(seconds=LOOKUP_SECONDS / 2)) is not None
    assert cache.get("token-1", T0 + timedelta(seconds=LOOKUP_SECONDS)) is None


def test_the_cache_holds_at_most_its_bound_dropping_the_least_recently_used() -> None:
    cache = ResolvedShares()
    for n in range(LOOKUP_ENTRIES):
        cache.keep(f"token-{n}", T0, _shared(n))
    assert cache.get("token-0", T0) is not None  # used last: now the freshest
    for n in range(LOOKUP_ENTRIES, LOOKUP_ENTRIES + 50):
        cache.keep(f"token-{n}", T0, _shared(n))
    assert cache.get("token-0", T0) is not None
    assert cache.get("token-1", T0) is None
    held = sum(cache.get(f"token-{n}", T0) is not None for n in range(LOOKUP_ENTRIES + 50))
    assert held == LOOKUP_ENTRIES


def test_forgetting_an_image_drops_its_tokens_only() -> None:
    cache = ResolvedShares()
    for n in (1, 2, 3):
        cache.keep(f"token-{n}", T0, _shared(n))
    cache.forget_images([2, 99])
    assert [cache.get(f"token-{n}", T0) is not None for n in (1, 2, 3)] == [True, False, True]
