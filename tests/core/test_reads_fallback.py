"""A plug-in storage of an earlier release still serves what came after it: without
``reads()``, the gallery's list and detail through its units of work; without
``EventRepository.add_unwatched``, calendar events through the unit of work that
queues their webhook deliveries."""

from __future__ import annotations

from typing import Any

from rankion_core.models import EventStatus
from rankion_core.ports import ImageQuery
from rankion_core.reads import UnitOfWorkReads, reads_of
from rankion_core.services import EventDraft, GenerateRequest
from rankion_memory import MemoryStorage

from .support import make_world, new_team


class OlderStorage:
    """Only what the ``Storage`` port had before ``reads()``."""

    def __init__(self, inner: MemoryStorage) -> None:
        self.inner = inner

    def unit_of_work(self) -> Any:
        return self.inner.unit_of_work()

    async def migrate(self) -> None: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


async def test_lists_and_details_read_through_units_of_work() -> None:
    world = make_world()
    actor = await new_team(world)
    queued = await world.app.creation.generate(actor, GenerateRequest(prompt="a red kite"))
    app = world.app.derive(storage=OlderStorage(world.storage))
    assert isinstance(reads_of(app.deps.storage), UnitOfWorkReads)

    listed = await app.gallery.list(actor, ImageQuery(team_id=actor.team_id))
    assert [v.image.id for v in listed.items] == [queued.image_id]
    assert (listed.total, listed.total_exact) == (1, True)
    detail = await app.gallery.detail(actor, queued.image_id)
    assert detail.view.image.prompt == "a red kite"


class OlderEvents:
    """An event repository from before ``add_unwatched``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "add_unwatched":
            raise AttributeError(name)
        return getattr(self.inner, name)


class OlderEventsStorage(OlderStorage):
    def unit_of_work(self) -> Any:
        storage = self

        class Older:
            async def __aenter__(self) -> Any:
                self.inner = storage.inner.unit_of_work()
                uow = await self.inner.__aenter__()
                uow.events = OlderEvents(uow.events)
                return uow

            async def __aexit__(self, *exc: Any) -> Any:
                return await self.inner.__aexit__(*exc)

        return Older()


async def test_events_are_added_without_add_unwatched() -> None:
    world = make_world()
    actor = await new_team(world)
    project = await world.app.accounts.create_project(actor, "Launch", "Europe/Berlin")
    app = world.app.derive(storage=OlderEventsStorage(world.storage))
    made = await app.calendar.create(
        actor, project.id, EventDraft(title="kick-off", status=EventStatus.IDEA)
    )
    assert made.event.id > 0 and str(made.zone) == "Europe/Berlin"
    listed = await world.app.calendar.get(actor, made.event.id)
    assert listed.event.title == "kick-off"
