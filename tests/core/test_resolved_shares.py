"""The per-process cache of resolved share tokens: bounded, short-lived, forgetful."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from rankion_core.errors import NotFound
from rankion_core.models import Actor, ProcessingStatus, Share
from rankion_core.ports import Storage
from rankion_core.services import Shares
from rankion_core.services.resolved import (
    LOOKUP_ENTRIES,
    LOOKUP_SECONDS,
    ResolvedShares,
    SharedImage,
)
from rankion_core.testing.builders import T0, add_images, image
from rankion_memory import MemoryStorage

from .support import make_world, new_team


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


# ---------------------------------------------------------------- one lookup at a time


class CountingStorage:
    """A storage that counts the units of work begun and holds each for a moment, so
    that views arriving together find a lookup under way."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner
        self.units = 0

    def unit_of_work(self) -> Any:
        self.units += 1
        return _Slow(self.inner.unit_of_work())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _Slow:
    def __init__(self, uow: Any) -> None:
        self.uow = uow

    async def __aenter__(self) -> Any:
        await asyncio.sleep(0.01)
        return await self.uow.__aenter__()

    async def __aexit__(self, *exc: object) -> None:
        await self.uow.__aexit__(*exc)


async def _shared_world() -> tuple[CountingStorage, Shares, str]:
    storage = CountingStorage(MemoryStorage())
    world = make_world(storage)  # type: ignore[arg-type]
    actor = await new_team(world)
    ready = image(actor.team_id, processing_status=ProcessingStatus.READY, blob_key="k.png")
    (added,) = await add_images(storage.inner, ready)
    view, _ = await world.app.shares.share(actor, added.id)
    return storage, world.app.shares, view.share.token


async def test_views_that_miss_together_share_one_lookup() -> None:
    storage, shares, token = await _shared_world()
    before = storage.units
    seen = await asyncio.gather(*(shares.view(token) for _ in range(50)))
    assert storage.units - before == 1
    assert {s.share.token for s in seen} == {token}
    assert shares.tally.pending() == 50


async def test_a_view_that_goes_away_does_not_cancel_the_lookup_of_the_others() -> None:
    _, shares, token = await _shared_world()
    first = asyncio.create_task(shares.view(token))
    await asyncio.sleep(0)  # the lookup is under way
    others = [asyncio.create_task(shares.view(token)) for _ in range(5)]
    await asyncio.sleep(0)
    first.cancel()
    seen = await asyncio.gather(*others)
    assert {s.share.token for s in seen} == {token}
    assert shares.tally.pending() == 5


async def test_an_unknown_token_fails_every_view_waiting_for_it() -> None:
    storage, shares, _ = await _shared_world()
    unknown, before = "x" * 32, storage.units
    answers = await asyncio.gather(
        *(shares.view(unknown) for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(a, NotFound) for a in answers)
    assert storage.units - before == 1


async def test_revoking_ends_every_active_share_of_the_image() -> None:
    """A store written before shares were made under the image's lock may hold several."""
    storage, shares, token = await _shared_world()
    async with storage.unit_of_work() as uow:
        first = await uow.shares.get_by_token(token)
        assert first is not None
        await uow.shares.add(Share(0, first.team_id, first.image_id, "y" * 32, first.created_at))
        await uow.commit()
    assert (await shares.view("y" * 32, count=False)).share.token == "y" * 32
    actor = Actor(team_id=first.team_id)
    await shares.revoke(actor, first.image_id)
    for gone in (token, "y" * 32):
        with pytest.raises(NotFound):
            await shares.view(gone)
    with pytest.raises(NotFound):
        await shares.revoke(actor, first.image_id)
