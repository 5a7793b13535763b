"""Time-zone aware calendar storage: a project's zone, the backlog filter, per-day counts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from rankion_core.models import EventStatus
from rankion_core.ports import DayQuery, EventQuery, Storage
from rankion_core.rules.calendar import day_counts, local_days
from rankion_core.testing.builders import event, make_project, two_teams
from rankion_core.testing.storage.calendar import add_events
from rankion_core.testing.storage.fixture import StorageFixtures

BERLIN = ZoneInfo("Europe/Berlin")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


class CalendarDaysContract(StorageFixtures):
    """Project time zones and per-day counts."""

    async def test_a_project_keeps_its_time_zone(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        project = await make_project(storage, team)
        assert project.time_zone == "UTC"
        project.time_zone, project.name = "Europe/Berlin", "blog (de)"
        async with storage.unit_of_work() as uow:
            await uow.projects.update(project)
            await uow.commit()
        async with storage.unit_of_work() as uow:
            loaded = await uow.projects.get(team, project.id)
            assert await uow.projects.get(other, project.id) is None
        assert loaded is not None
        assert (loaded.time_zone, loaded.name) == ("Europe/Berlin", "blog (de)")

    async def test_unscheduled_lists_only_undated_ideas(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        project = await make_project(storage, team)
        dated, idea = await add_events(
            storage,
            event(team, project.id),
            event(team, project.id, status=EventStatus.IDEA, scheduled_at=None),
        )
        async with storage.unit_of_work() as uow:
            items, total = await uow.events.list(EventQuery(team, project.id, unscheduled=True))
        assert ([e.id for e in items], total) == ([idea.id], 1)
        assert dated.id != idea.id

    async def test_day_counts_follow_local_days_across_dst(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        project = await make_project(storage, team)
        theirs = await make_project(storage, other)
        await add_events(
            storage,
            # 2026-03-28 23:30 UTC is already Sunday the 29th in Berlin (+01:00)
            event(team, project.id, scheduled_at=utc(2026, 3, 28, 23, 30)),
            # the 29th lasts 23 hours: 21:59 UTC is 23:59 CEST, still the 29th
            event(team, project.id, scheduled_at=utc(2026, 3, 29, 21, 59)),
            event(team, project.id, scheduled_at=utc(2026, 3, 29, 22, 0), status=EventStatus.IDEA),
            event(team, project.id, scheduled_at=utc(2026, 3, 29, 22, 0), status=EventStatus.IDEA),
            event(team, project.id, scheduled_at=None, status=EventStatus.IDEA),
            event(other, theirs.id, scheduled_at=utc(2026, 3, 29, 12)),
        )
        start = datetime(2026, 3, 28, tzinfo=BERLIN).astimezone(UTC)
        end = datetime(2026, 3, 31, tzinfo=BERLIN).astimezone(UTC)
        days = tuple(local_days(start, end, BERLIN))
        async with storage.unit_of_work() as uow:
            rows = await uow.events.day_counts(DayQuery(team, project.id, days))
        counted = day_counts(rows)
        assert [(d.date, d.total, d.by_status) for d in counted] == [
            (date(2026, 3, 29), 2, {EventStatus.PLANNED: 2}),
            (date(2026, 3, 30), 2, {EventStatus.IDEA: 2}),
        ]

    async def test_day_counts_of_an_empty_range_or_another_team(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        project = await make_project(storage, team)
        await add_events(storage, event(team, project.id, scheduled_at=utc(2026, 5, 15, 9)))
        days = tuple(local_days(utc(2026, 5, 15), utc(2026, 5, 15, 23, 59), ZoneInfo("UTC")))
        async with storage.unit_of_work() as uow:
            assert await uow.events.day_counts(DayQuery(other, project.id, days)) == []
            assert await uow.events.day_counts(DayQuery(team, project.id, ())) == []
            mine = await uow.events.day_counts(DayQuery(team, project.id, days))
        assert mine == [(date(2026, 5, 15), EventStatus.PLANNED, 1)]
