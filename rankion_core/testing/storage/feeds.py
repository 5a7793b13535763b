"""Calendar feed tokens: one per project, replaced on rotation, found by digest,
team-scoped on the team side, rolled back with their unit of work."""

from __future__ import annotations

from rankion_core.models import CalendarFeed
from rankion_core.ports import Storage
from rankion_core.rules import feeds as rules
from rankion_core.testing.builders import at, make_project, two_teams
from rankion_core.testing.storage.fixture import StorageFixtures


async def put(storage: Storage, feed: CalendarFeed, *, commit: bool = True) -> None:
    async with storage.unit_of_work() as uow:
        await uow.calendar_feeds.put(feed)
        if commit:
            await uow.commit()


def feed(team: int, project: int, secret: str, minutes: float = 0) -> CalendarFeed:
    return CalendarFeed(
        project_id=project, team_id=team, digest=rules.digest(secret), created_at=at(minutes)
    )


class FeedsContract(StorageFixtures):
    """Calendar feeds."""

    async def test_put_then_get_and_find(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        project = await make_project(storage, team, "blog")
        await put(storage, feed(team, project.id, "one"))
        async with storage.unit_of_work() as uow:
            got = await uow.calendar_feeds.get(team, project.id)
            found = await uow.calendar_feeds.find(rules.digest("one"))
            assert await uow.calendar_feeds.get(other, project.id) is None
            assert await uow.calendar_feeds.find(rules.digest("two")) is None
        assert got is not None
        assert found is not None
        assert (got.project_id, got.team_id, got.digest) == (project.id, team, rules.digest("one"))
        assert got.created_at == at(0)
        assert found.project_id == project.id

    async def test_put_again_replaces_the_token(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        project = await make_project(storage, team, "blog")
        await put(storage, feed(team, project.id, "old"))
        await put(storage, feed(team, project.id, "new", minutes=5))
        async with storage.unit_of_work() as uow:
            assert await uow.calendar_feeds.find(rules.digest("old")) is None
            found = await uow.calendar_feeds.find(rules.digest("new"))
        assert found is not None
        assert found.created_at == at(5)

    async def test_each_project_has_its_own_feed(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        blog = await make_project(storage, team, "blog")
        news = await make_project(storage, other, "news")
        await put(storage, feed(team, blog.id, "blog"))
        await put(storage, feed(other, news.id, "news"))
        async with storage.unit_of_work() as uow:
            mine = await uow.calendar_feeds.find(rules.digest("blog"))
            theirs = await uow.calendar_feeds.find(rules.digest("news"))
        assert mine is not None
        assert theirs is not None
        assert (mine.project_id, theirs.project_id) == (blog.id, news.id)

    async def test_delete_is_team_scoped(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        project = await make_project(storage, team, "blog")
        await put(storage, feed(team, project.id, "one"))
        async with storage.unit_of_work() as uow:
            assert await uow.calendar_feeds.delete(other, project.id) is False
            await uow.commit()
        async with storage.unit_of_work() as uow:
            assert await uow.calendar_feeds.delete(team, project.id) is True
            assert await uow.calendar_feeds.delete(team, project.id) is False
            await uow.commit()
        async with storage.unit_of_work() as uow:
            assert await uow.calendar_feeds.get(team, project.id) is None

    async def test_without_commit_nothing_is_stored(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        project = await make_project(storage, team, "blog")
        await put(storage, feed(team, project.id, "one"), commit=False)
        async with storage.unit_of_work() as uow:
            assert await uow.calendar_feeds.get(team, project.id) is None
