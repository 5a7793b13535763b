"""Small builders for the contract suite: entities with sensible defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rankion_core.models import (
    CalendarEvent,
    EventStatus,
    EventType,
    Image,
    Job,
    JobKind,
    JobStatus,
    Project,
    Team,
)
from rankion_core.ports import Storage

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes: float = 0, **delta: float) -> datetime:
    """``T0`` plus some minutes (or any ``timedelta`` keywords)."""
    return T0 + timedelta(minutes=minutes, **delta)


async def make_team(storage: Storage, name: str = "acme", credits: int = 100) -> Team:
    async with storage.unit_of_work() as uow:
        team = await uow.teams.add(Team(id=0, name=name, credits=credits, created_at=T0))
        await uow.commit()
    return team


async def two_teams(storage: Storage) -> tuple[int, int]:
    first = await make_team(storage, "acme")
    second = await make_team(storage, "globex")
    return first.id, second.id


def image(team_id: int, **fields: Any) -> Image:
    values: dict[str, Any] = {
        "id": 0,
        "team_id": team_id,
        "prompt": "a lighthouse at dusk",
        "model": "gpt-image-1",
        "size": "1024x1024",
        "quality": "high",
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(fields)
    return Image(**values)


async def add_images(storage: Storage, *images: Image) -> list[Image]:
    async with storage.unit_of_work() as uow:
        added = [await uow.images.add(i) for i in images]
        await uow.commit()
    return added


async def make_project(storage: Storage, team_id: int, name: str = "blog") -> Project:
    async with storage.unit_of_work() as uow:
        project = await uow.projects.add(Project(0, team_id, name, T0))
        await uow.commit()
    return project


def event(team_id: int, project_id: int, **fields: Any) -> CalendarEvent:
    values: dict[str, Any] = {
        "id": 0,
        "team_id": team_id,
        "project_id": project_id,
        "title": "Spring launch",
        "type": EventType.ARTICLE,
        "status": EventStatus.PLANNED,
        "scheduled_at": T0,
        "article_id": None,
        "notes": None,
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(fields)
    return CalendarEvent(**values)


def job(team_id: int, **fields: Any) -> Job:
    values: dict[str, Any] = {
        "id": 0,
        "team_id": team_id,
        "kind": JobKind.GENERATE,
        "status": JobStatus.QUEUED,
        "created_at": T0,
        "payload": {"image_id": 1},
    }
    values.update(fields)
    return Job(**values)


async def add_jobs(storage: Storage, *jobs: Job) -> list[Job]:
    async with storage.unit_of_work() as uow:
        added = [await uow.jobs.add(j) for j in jobs]
        await uow.commit()
    return added
