"""Projects and calendar events: CRUD, team scope, the event list's filters and order."""

from __future__ import annotations

from typing import Any

from rankion_core.models import CalendarEvent, EventStatus, EventType, Project
from rankion_core.ports import EventQuery, Storage, one_statement
from rankion_core.testing.builders import T0, at, event, make_project, two_teams
from rankion_core.testing.storage.fixture import StorageFixtures
from rankion_core.testing.storage.webhooks import add_hooks, hook


async def add_events(storage: Storage, *events: CalendarEvent) -> list[CalendarEvent]:
    async with storage.unit_of_work() as uow:
        added = [await uow.events.add(e) for e in events]
        await uow.commit()
    return added


async def listed(storage: Storage, team: int, project: int, **query: Any) -> tuple[list[int], int]:
    async with storage.unit_of_work() as uow:
        items, total = await uow.events.list(EventQuery(team_id=team, project_id=project, **query))
    return [e.id for e in items], total


class CalendarContract(StorageFixtures):
    """Projects and calendar events."""

    async def test_projects_add_get_and_list_by_id(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        blog = await make_project(storage, team, "blog")
        shop = await make_project(storage, team, "shop")
        theirs = await make_project(storage, other, "news")
        async with storage.unit_of_work() as uow:
            got = await uow.projects.get(team, blog.id)
            assert await uow.projects.get(other, blog.id) is None
            assert await uow.projects.get(team, theirs.id) is None
            items, total = await uow.projects.list(team, 1, 10)
            one, _ = await uow.projects.list(team, 2, 1)
            past, past_total = await uow.projects.list(team, 3, 1)
        assert got is not None
        assert (got.name, got.team_id) == ("blog", team)
        assert ([p.id for p in items], total) == ([blog.id, shop.id], 2)
        assert [p.id for p in one] == [shop.id]
        assert (past, past_total) == ([], 2)

    async def test_event_add_get_update_delete(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        project = await make_project(storage, team)
        (added,) = await add_events(
            storage, event(team, project.id, notes="draft", article_id=12, type=EventType.PODCAST)
        )
        assert added.id > 0
        async with storage.unit_of_work() as uow:
            loaded = await uow.events.get(team, added.id)
            assert await uow.events.get(other, added.id) is None
            assert loaded is not None
            assert (loaded.type, loaded.status, loaded.notes) == (
                EventType.PODCAST,
                EventStatus.PLANNED,
                "draft",
            )
            loaded.title, loaded.status, loaded.scheduled_at = "Moved", EventStatus.IDEA, None
            loaded.updated_at = at(5)
            await uow.events.update(loaded)
            await uow.commit()
        async with storage.unit_of_work() as uow:
            changed = await uow.events.get(team, added.id)
            assert changed is not None
            assert (changed.title, changed.status, changed.scheduled_at) == (
                "Moved",
                EventStatus.IDEA,
                None,
            )
            assert changed.updated_at == at(5)
            assert await uow.events.delete(other, added.id) is False
            assert await uow.events.delete(team, added.id) is True
            assert await uow.events.delete(team, added.id) is False
            await uow.commit()
        async with storage.unit_of_work() as uow:
            assert await uow.events.get(team, added.id) is None

    async def test_an_unwatched_event_is_added_in_one_statement(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        async with storage.unit_of_work() as uow:
            project = await uow.projects.add(Project(0, team, "blog", T0, "Europe/Berlin"))
            await uow.commit()

        async def add(draft: CalendarEvent) -> str | None:
            async with storage.unit_of_work() as uow:
                one_statement(uow)
                zone = await uow.events.add_unwatched(draft)
                await uow.commit()
            return zone

        for theirs in (event(other, project.id), event(team, project.id + 1000)):
            assert await add(theirs) is None
            assert theirs.id == 0
        await add_hooks(storage, hook(other))  # another team's webhook changes nothing
        draft = event(team, project.id, notes="draft", article_id=12, title="Launch")
        assert await add(draft) == "Europe/Berlin"
        assert draft.id > 0
        async with storage.unit_of_work() as uow:
            assert await uow.events.get(team, draft.id) == draft
            assert await uow.events.get(other, draft.id) is None
        await add_hooks(storage, hook(team, ["image.ready"]))  # any webhook of the team
        assert await add(event(team, project.id)) is None
        assert await listed(storage, team, project.id) == ([draft.id], 1)

    async def test_an_unwatched_event_is_not_added_at_the_teams_cap(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        project, theirs = await make_project(storage, team), await make_project(storage, other)

        async def add(draft: CalendarEvent, limit: int) -> str | None:
            async with storage.unit_of_work() as uow:
                one_statement(uow)
                zone = await uow.events.add_unwatched(draft, limit=limit)
                await uow.commit()
            return zone

        assert await add(event(team, project.id), 2) == "UTC"
        assert await add(event(team, project.id), 2) == "UTC"
        refused = event(team, project.id)
        assert await add(refused, 2) is None  # two of two: nothing is added
        assert refused.id == 0
        assert await add(event(other, theirs.id), 2) == "UTC"  # the cap is per team
        assert await add(event(team, project.id), 3) == "UTC"
        assert await add(event(team, project.id), 0) == "UTC"  # 0: no cap
        assert (await listed(storage, team, project.id))[1] == 4

    async def test_events_sort_by_schedule_nulls_last_ties_by_id(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        project = await make_project(storage, team)
        other_project = await make_project(storage, team, "other")
        a, b, c, d, e = await add_events(
            storage,
            event(team, project.id, scheduled_at=at(60)),
            event(team, project.id, scheduled_at=None, status=EventStatus.IDEA, created_at=at(1)),
            event(team, project.id, scheduled_at=at(30)),
            event(team, project.id, scheduled_at=at(60)),
            event(team, project.id, scheduled_at=None, status=EventStatus.IDEA, created_at=at(2)),
        )
        await add_events(storage, event(team, other_project.id))
        assert await listed(storage, team, project.id) == ([c.id, a.id, d.id, b.id, e.id], 5)
        assert await listed(storage, team, project.id, per_page=2, page=2) == ([d.id, b.id], 5)
        assert await listed(storage, team, project.id, per_page=2, page=4) == ([], 5)

    async def test_events_read_for_update_are_the_plain_reads(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        project = await make_project(storage, team)
        a, b = await add_events(
            storage,
            event(team, project.id, scheduled_at=at(60)),
            event(team, project.id, scheduled_at=at(30)),
        )
        query = EventQuery(team_id=team, project_id=project.id)
        async with storage.unit_of_work() as uow:
            found, total = await uow.events.list(query, for_update=True)
            assert ([e.id for e in found], total) == ([a.id, b.id], 2)  # by id
            assert (await uow.events.list(query))[0] == [b, a]  # by schedule
            assert await uow.events.get(other, a.id, for_update=True) is None
            locked = await uow.events.get(team, a.id, for_update=True)
            assert locked == a
            found[1].title = "Moved"
            await uow.events.update(found[1])
            await uow.commit()
        async with storage.unit_of_work() as uow:
            stored = await uow.events.get(team, b.id)
        assert stored is not None and stored.title == "Moved"

    async def test_events_update_many_writes_each_ones_changes(self, storage: Storage) -> None:
        """A shift's events, each changed its own way (moved, retitled, unchanged)."""
        team, other = await two_teams(storage)
        project = await make_project(storage, team)
        theirs_project = await make_project(storage, other)
        events = await add_events(
            storage, *(event(team, project.id, scheduled_at=at(n)) for n in range(6))
        )
        (theirs,) = await add_events(storage, event(other, theirs_project.id, title="Theirs"))
        async with storage.unit_of_work() as uow:
            found, _ = await uow.events.list(
                EventQuery(team_id=team, project_id=project.id), for_update=True
            )
            for n, item in enumerate(found[:4]):
                item.scheduled_at, item.updated_at = at(100 + n), at(200)
            found[4].title = "Renamed"
            await uow.events.update_many(found)
            await uow.events.update_many([])
            await uow.commit()
        async with storage.unit_of_work() as uow:
            stored = [await uow.events.get(team, e.id) for e in events]
            kept = await uow.events.get(other, theirs.id)
        assert [e.scheduled_at for e in stored if e is not None] == [
            *(at(100 + n) for n in range(4)),
            at(4),
            at(5),
        ]
        assert [e.title for e in stored if e is not None][4:] == ["Renamed", "Spring launch"]
        assert kept == theirs

    async def test_an_event_count_may_stop_one_past_a_limit(self, storage: Storage) -> None:
        """``count_limit``: the total is ``min(total, count_limit + 1)``, the page whole
        (a shift learns "too many" without counting every event of the range)."""
        team, _ = await two_teams(storage)
        project = await make_project(storage, team)
        made = await add_events(
            storage, *(event(team, project.id, scheduled_at=at(n)) for n in range(5))
        )
        query = EventQuery(team_id=team, project_id=project.id, scheduled_from=at(1), per_page=2)
        async with storage.unit_of_work() as uow:
            for limit, total in ((1, 2), (2, 3), (3, 4), (4, 4), (9, 4)):
                found, counted = await uow.events.list(query, for_update=True, count_limit=limit)
                assert ([e.id for e in found], counted) == ([e.id for e in made[1:3]], total)
            assert (await uow.events.list(query, count_limit=2))[1] == 3

    async def test_event_range_is_inclusive_and_drops_the_unscheduled(
        self, storage: Storage
    ) -> None:
        team, _ = await two_teams(storage)
        project = await make_project(storage, team)
        events = await add_events(
            storage,
            *(event(team, project.id, scheduled_at=at(days=d)) for d in range(5)),
            event(team, project.id, scheduled_at=None, status=EventStatus.IDEA),
        )
        got = await listed(
            storage, team, project.id, scheduled_from=at(days=1), scheduled_to=at(days=3)
        )
        assert got == ([e.id for e in events[1:4]], 3)
        assert (await listed(storage, team, project.id, scheduled_from=at(days=4)))[0] == [
            events[4].id
        ]
        assert (await listed(storage, team, project.id, scheduled_to=at(days=0)))[0] == [
            events[0].id
        ]

    async def test_event_filters_by_status_and_type(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        project = await make_project(storage, team)
        a, b, c = await add_events(
            storage,
            event(team, project.id, type=EventType.VIDEO, scheduled_at=at(1)),
            event(team, project.id, status=EventStatus.PUBLISHED, scheduled_at=at(2)),
            event(
                team,
                project.id,
                type=EventType.VIDEO,
                status=EventStatus.CANCELLED,
                scheduled_at=at(3),
            ),
        )
        video = (EventType.VIDEO,)
        assert await listed(storage, team, project.id, types=video) == ([a.id, c.id], 2)
        done = (EventStatus.PUBLISHED, EventStatus.CANCELLED)
        assert await listed(storage, team, project.id, statuses=done) == ([b.id, c.id], 2)
        assert await listed(storage, team, project.id, statuses=done, types=video) == ([c.id], 1)
        assert await listed(storage, other, project.id) == ([], 0)
