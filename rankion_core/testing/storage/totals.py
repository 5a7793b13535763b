"""An unfiltered list's total, and a team's counts of projects, calendar events and
chat sessions, stay exact through every write.

A backend may answer it from counts it keeps (the SQL backend's are kept by
triggers) instead of counting; it must agree with a count of the rows, whatever
changed them.
"""

from __future__ import annotations

from rankion_core.models import ChatSession, Image, ProcessingStatus, Project
from rankion_core.ports import ImageQuery, Storage
from rankion_core.testing.builders import (
    T0,
    add_images,
    at,
    event,
    image,
    make_project,
    two_teams,
)
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

    async def test_team_counts_follow_adds_deletes_and_rollbacks(self, storage: Storage) -> None:
        """``count`` of projects, events and chat sessions (what the per-team caps
        read): every add and delete, a chat session going with its image, a rolled
        back unit of work changing nothing, and each team its own."""
        team, other = await two_teams(storage)
        assert await counts(storage, team) == (0, 0, 0)
        first, second = await make_project(storage, team), await make_project(storage, team)
        await make_project(storage, other)
        kept, gone = await add_images(storage, image(team), image(team))
        async with storage.unit_of_work() as uow:
            made = [await uow.events.add(event(team, p.id)) for p in (first, second, second)]
            for target in (kept, gone, gone):
                await uow.chats.add(ChatSession(0, team, target.id, T0))
            await uow.commit()
        assert await counts(storage, team) == (2, 3, 3)
        assert await counts(storage, other) == (1, 0, 0)

        async with storage.unit_of_work() as uow:
            await uow.events.delete(team, made[0].id)
            await uow.images.delete(team, gone.id)  # its two sessions go with it
            await uow.commit()
        assert await counts(storage, team) == (2, 2, 1)

        async with storage.unit_of_work() as uow:  # never committed
            await uow.projects.add(Project(0, team, "draft", T0))
            await uow.events.add(event(team, first.id))
            await uow.events.delete(team, made[1].id)
            await uow.chats.add(ChatSession(0, team, kept.id, T0))
        assert await counts(storage, team) == (2, 2, 1)


async def counts(storage: Storage, team_id: int) -> tuple[int, int, int]:
    """The team's projects, calendar events and chat sessions, as ``count`` reads them."""
    async with storage.unit_of_work() as uow:
        return (
            await uow.projects.count(team_id),
            await uow.events.count(team_id),
            await uow.chats.count(team_id),
        )
