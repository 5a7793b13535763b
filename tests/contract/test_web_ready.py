"""Web-ready images on every storage backend (memory, SQLite, PostgreSQL) and on a
real blob store (in memory, and S3 through moto): the placeholder, the hash, the
clean copy and the renditions are stored, read back, covered by the orphan check and
removed with the image."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from rankion_core import Actor, Deps, HmacUrlSigner, Rankion
from rankion_core.defaults import FakeClock
from rankion_core.models import ProcessingStatus
from rankion_core.ports import ImageQuery, Storage
from rankion_core.rules import renditions, similar
from rankion_core.services.creation import GenerateRequest
from rankion_core.testing.builders import add_images, at, image, two_teams
from rankion_fsspec import FsspecBlobStore, open_blob_store
from rankion_procedural import PillowCodec, ProceduralProvider
from rankion_server.maintenance_checks import orphan_blobs, referenced_blobs, stored_blobs
from tests.support.moto_server import MotoS3, moto_s3  # noqa: F401


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "s3"])
async def blobs(request: pytest.FixtureRequest, clock: FakeClock) -> AsyncIterator[FsspecBlobStore]:
    if request.param == "memory":
        store = open_blob_store(f"memory://{uuid.uuid4().hex}", clock=clock)
    else:
        s3: MotoS3 = request.getfixturevalue("moto_s3")
        store = s3.open(uuid.uuid4().hex, clock=clock)
    async with store:
        yield store


async def test_renditions_are_stored_read_back_and_removed_on_purge(
    storage: Storage, blobs: FsspecBlobStore, clock: FakeClock
) -> None:
    deps = Deps(
        storage=storage,
        blobs=blobs,
        provider=ProceduralProvider(),
        codec=PillowCodec(),
        signer=HmacUrlSigner(b"0123456789abcdef0123", "http://test"),
        clock=clock,
    )
    app = Rankion(deps)
    actor = Actor((await app.accounts.create_team("acme", 100)).id)
    made = [
        await app.creation.generate(actor, GenerateRequest(prompt=p, size="512x512"))
        for p in ("a lighthouse", "a forest")
    ]
    await app.run_pending()

    detail = await app.gallery.detail(actor, made[0].image_id)
    image = detail.view.image
    assert image.processing_status is ProcessingStatus.READY
    assert image.placeholder and image.phash is not None
    assert len(similar.phash_hex(image.phash)) == 16
    assert [(r.rendition.format, r.rendition.width) for r in detail.renditions] == [
        ("webp", 256),
        ("avif", 256),
        ("webp", 512),
        ("avif", 512),
    ]
    for r in detail.renditions:
        assert len(await blobs.get(r.rendition.key)) == r.rendition.bytes
    listed = await app.gallery.list(actor, ImageQuery(team_id=actor.team_id))
    assert {v.image.placeholder for v in listed.items} == {
        (await app.gallery.detail(actor, m.image_id)).view.image.placeholder for m in made
    }

    per_image = 2 + 2 * 2
    assert len(await stored_blobs(app)) == 2 * per_image
    assert await stored_blobs(app) == await referenced_blobs(storage)
    assert await orphan_blobs(app) == set()
    assert renditions.blob_keys([image]) <= await referenced_blobs(storage)

    await app.gallery.delete(actor, made[0].image_id)
    await app.gallery.delete(actor, made[1].image_id)
    await app.gallery.delete_forever(actor, made[1].image_id)
    assert len(await stored_blobs(app)) == per_image
    clock.advance(timedelta(days=31))
    assert await app.gallery.purge() == 1
    assert await stored_blobs(app) == set()
    assert await orphan_blobs(app) == set()


async def test_similar_reads_hashes_of_live_images_of_the_team_only(storage: Storage) -> None:
    team, other = await two_teams(storage)
    base = 0xF0F0_1234_ABCD_0001
    ready = {"processing_status": ProcessingStatus.READY}
    flips = [0, 1, 3, 9, 40]  # bits flipped from ``base``
    mine = await add_images(
        storage,
        *[image(team, phash=similar.to_signed(base ^ ((1 << n) - 1)), **ready) for n in flips],
        image(team),  # no hash: not ready
        image(team, phash=similar.to_signed(base), deleted_at=at(1), purge_at=at(2), **ready),
    )
    await add_images(storage, image(other, phash=similar.to_signed(base), **ready))
    query = similar.to_signed(base)
    async with storage.unit_of_work() as uow:
        near, total = await uow.images.similar(team, query, 9, mine[0].id, 1, 24)
        paged, paged_total = await uow.images.similar(team, query, 32, 0, 2, 2)
        round_trip = await uow.images.get(team, mine[4].id)
    assert [(i.id, d) for i, d in near] == [(mine[1].id, 1), (mine[2].id, 3), (mine[3].id, 9)]
    assert total == 3
    assert [(i.id, d) for i, d in paged] == [(mine[2].id, 3), (mine[3].id, 9)]
    assert paged_total == 4
    assert round_trip is not None and round_trip.phash == similar.to_signed(base ^ (2**40 - 1))
