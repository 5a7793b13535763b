"""Build a whole core over a storage backend (memory unless given) and the pure fakes."""

from __future__ import annotations

from datetime import timedelta

from attrs import define

from rankion_core import Actor, Deps, HmacUrlSigner, Rankion
from rankion_core.defaults import FakeClock
from rankion_core.ports import Storage
from rankion_memory import MemoryStorage

from .fakes import FakeBlobStore, FakeCodec, FakeProvider


@define
class World:
    app: Rankion
    clock: FakeClock
    blobs: FakeBlobStore
    provider: FakeProvider
    storage: Storage


def make_world(
    storage: Storage | None = None,
    *,
    provider: FakeProvider | None = None,
    blobs: FakeBlobStore | None = None,
    lease: timedelta = timedelta(seconds=30),
) -> World:
    """The core on ``storage`` (a fresh memory backend by default), a fake clock, fake
    blobs and a fake provider (or the ones given)."""
    clock = FakeClock()
    blobs = blobs or FakeBlobStore()
    provider = provider or FakeProvider()
    deps = Deps(
        storage=storage or MemoryStorage(),  # type: ignore[arg-type]
        blobs=blobs,
        provider=provider,  # type: ignore[arg-type]
        codec=FakeCodec(),
        signer=HmacUrlSigner(b"0123456789abcdef0123", "http://test"),
        clock=clock,
    )
    return World(Rankion(deps, lease=lease), clock, blobs, provider, deps.storage)


async def new_team(world: World, credits: int = 100, name: str = "acme") -> Actor:
    team = await world.app.accounts.create_team(name, credits)
    return Actor(team_id=team.id)
