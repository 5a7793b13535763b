"""Build a whole core over the memory backend and the pure fakes."""

from __future__ import annotations

from attrs import define

from rankion_core import Actor, Deps, HmacUrlSigner, Rankion
from rankion_core.defaults import FakeClock
from rankion_memory import MemoryStorage

from .fakes import FakeBlobStore, FakeCodec, FakeProvider


@define
class World:
    app: Rankion
    clock: FakeClock
    blobs: FakeBlobStore
    provider: FakeProvider
    storage: MemoryStorage


def make_world() -> World:
    clock = FakeClock()
    blobs, provider, storage = FakeBlobStore(), FakeProvider(), MemoryStorage()
    deps = Deps(
        storage=storage,
        blobs=blobs,
        provider=provider,
        codec=FakeCodec(),
        signer=HmacUrlSigner(b"0123456789abcdef0123", "http://test"),
        clock=clock,
    )
    return World(Rankion(deps), clock, blobs, provider, storage)


async def new_team(world: World, credits: int = 100, name: str = "acme") -> Actor:
    team = await world.app.accounts.create_team(name, credits)
    return Actor(team_id=team.id)
