"""``similar``: the near hashes of a team's live images, the same as comparing every
hash, whatever index a backend reads them through (SQL reads hash bands up to
distance 15 and the whole range above it; see ``rules.similar``)."""

from __future__ import annotations

from rankion_core.models import Image, ProcessingStatus
from rankion_core.ports import Storage
from rankion_core.rules.similar import BAND_BITS, BAND_SHIFTS, MAX_DISTANCE, distance, to_signed
from rankion_core.testing.builders import add_images, at, image, two_teams
from rankion_core.testing.storage.fixture import StorageFixtures

BASE = 0x8F0F_1234_ABCD_0F01  # the sign bit set: stored negative
#: the distances where the band probes change (radius 0..3) and the scan takes over
DISTANCES = (0, 1, 3, 4, 7, 8, 11, 12, 15, 16, 20, MAX_DISTANCE)


def flipped(bits: list[int]) -> int:
    """``BASE`` with ``bits`` flipped, signed as storage keeps it."""
    return to_signed(BASE ^ sum(1 << b for b in set(bits)))


def spread(count: int, offset: int = 0) -> list[int]:
    """``count`` bits dealt round the bands, so no band differs by more than it must."""
    return [
        BAND_SHIFTS[n % len(BAND_SHIFTS)] + (n // len(BAND_SHIFTS) + offset) % BAND_BITS
        for n in range(count)
    ]


def variants() -> list[int]:
    """Hashes at every distance up to 24 from ``BASE``: spread evenly over the bands
    (the case the pigeonhole is tight for), packed into one band, into two, and the
    sign bit among them."""
    made = []
    for d in range(25):
        made.append(flipped(spread(d)))
        made.append(flipped(spread(d, offset=7)))
        made.append(flipped([BAND_SHIFTS[d % 4] + b for b in range(min(d, BAND_BITS))]))
        made.append(flipped([63 - b for b in range(d)]))
        made.append(flipped([b * 2 for b in range(d)]))
    return made


async def answers(
    storage: Storage, team: int, phash: int, max_distance: int, exclude: int, per_page: int = 500
) -> tuple[list[tuple[int, int]], int]:
    async with storage.unit_of_work() as uow:
        found, total = await uow.images.similar(team, phash, max_distance, exclude, 1, per_page)
    return [(i.id, d) for i, d in found], total


def compared(images: list[Image], phash: int, max_distance: int) -> list[tuple[int, int]]:
    """The answer by comparing every hash."""
    near = [(distance(i.phash, phash), i.id) for i in images if i.phash is not None]
    return [(i, d) for d, i in sorted(near) if d <= max_distance]


class SimilarContract(StorageFixtures):
    """``images.similar`` against comparing every hash."""

    async def test_similar_equals_comparing_every_hash(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        ready = {"processing_status": ProcessingStatus.READY}
        live = await add_images(storage, *[image(team, phash=h, **ready) for h in variants()])
        await add_images(
            storage,
            image(team, phash=to_signed(BASE), deleted_at=at(1), purge_at=at(2), **ready),
            image(other, phash=to_signed(BASE), **ready),
            image(team),
        )
        query = to_signed(BASE)
        for max_distance in DISTANCES:
            expected = compared(live, query, max_distance)
            assert await answers(storage, team, query, max_distance, 0) == (
                expected,
                len(expected),
            ), max_distance
        # from one of the variants, the image itself left out
        probe = live[9]
        assert probe.phash is not None
        for max_distance in (8, 15, 16):
            expected = [r for r in compared(live, probe.phash, max_distance) if r[0] != probe.id]
            assert await answers(storage, team, probe.phash, max_distance, probe.id) == (
                expected,
                len(expected),
            )

    async def test_similar_pages_through_the_same_order(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        ready = {"processing_status": ProcessingStatus.READY}
        live = await add_images(storage, *[image(team, phash=h, **ready) for h in variants()])
        query = to_signed(BASE)
        whole, total = await answers(storage, team, query, 8, 0)
        pages: list[tuple[int, int]] = []
        for number in range(1, total // 7 + 2):
            async with storage.unit_of_work() as uow:
                found, counted = await uow.images.similar(team, query, 8, 0, number, 7)
            assert counted == total
            pages.extend((i.id, d) for i, d in found)
        assert pages == whole == compared(live, query, 8)

    async def test_similar_follows_trash_restore_and_delete(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        ready = {"processing_status": ProcessingStatus.READY}
        near, far, gone = await add_images(
            storage,
            *[image(team, phash=flipped(spread(d)), **ready) for d in (2, 9, 5)],
        )
        query = to_signed(BASE)
        assert (await answers(storage, team, query, 9, 0))[0] == [
            (near.id, 2),
            (gone.id, 5),
            (far.id, 9),
        ]
        async with storage.unit_of_work() as uow:
            await uow.images.set_trash(team, [near.id, far.id], at(5), at(35), at(5))
            await uow.images.delete(team, gone.id)
            await uow.commit()
        for max_distance in (9, 32):
            assert await answers(storage, team, query, max_distance, 0) == ([], 0)
        async with storage.unit_of_work() as uow:
            await uow.images.set_trash(team, [far.id], None, None, at(6))
            await uow.commit()
        for max_distance in (9, 32):
            assert await answers(storage, team, query, max_distance, 0) == ([(far.id, 9)], 1)
