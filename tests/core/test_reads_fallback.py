"""A storage without ``reads()`` (a plug-in written before it existed) still serves
the gallery's list and detail, through its units of work."""

from __future__ import annotations

from typing import Any

from rankion_core.ports import ImageQuery
from rankion_core.reads import UnitOfWorkReads, reads_of
from rankion_core.services import GenerateRequest
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
