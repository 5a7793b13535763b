"""An unfiltered list's total stays exact through every write.

A backend may answer it from counts it keeps (the SQL backend's are kept by
triggers) instead of counting; it must agree with a count of the rows, whatever
changed them.
"""

from __future__ import annotations

from rankion_core.models import Image, ProcessingStatus
from rankion_core.ports import ImageQuery, Storage
from rankion_core.testing.builders import add_images, at, image, two_teams
from rankion_core.testing.storage.fixture import StorageFixtures

EVERY_STATUS = tuple(ProcessingStatus)


async def totals(storage: Storage, team_id: int) -> tuple[int, int]:
    """The unfiltered total and the total of a filter every image passes."""
    async with storage.unit_of_work() as uow:
        _, kept = await uow.images.list(ImageQuery(team_id=team_id, per_page=1))
        _, counted = await uow.images.list(
            ImageQuery(team_id=team_id, per_page=1, statuses=EVERY_STATUS)
        )
    return kept, counted


async def write(storage: Storage, *changed: Image) -> None:
    async with storage.unit_of_work() as uow:
        for item in changed:
            await uow.images.update(item)
        await uow.commit()


class TotalsContract(StorageFixtures):
    """The unfiltered total stays exact through every write."""

    async def test_totals_follow_adds_trash_restore_and_deletes(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        first, second, third, _ = await add_images(
            storage,
            image(team),
            image(team),
            image(team),
            image(team, deleted_at=at(1), purge_at=at(2)),
        )
        await add_images(storage, image(other))
        assert await totals(storage, team) == (3, 3)

        first.deleted_at, first.purge_at = at(3), at(4)
        await write(storage, first)
        assert await totals(storage, team) == (2, 2)

        second.title = "renamed, still live"
        await write(storage, second)
        assert await totals(storage, team) == (2, 2)

        first.deleted_at = first.purge_at = None
        await write(storage, first)
        assert await totals(storage, team) == (3, 3)

        async with storage.unit_of_work() as uow:
            await uow.images.delete(team, third.id)
            await uow.commit()
        assert await totals(storage, team) == (2, 2)
        assert await totals(storage, other) == (1, 1)

    async def test_rolled_back_writes_leave_the_total(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        await add_images(storage, image(team))
        async with storage.unit_of_work() as uow:
            await uow.images.add(image(team))  # never committed
        assert await totals(storage, team) == (1, 1)

    async def test_a_team_without_images_has_none(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        assert await totals(storage, team) == (0, 0)
