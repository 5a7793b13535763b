"""Regression: a purge batch holding a root and one of its variants."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from rankion_core.models import Image
from rankion_core.services import EditRequest, GenerateRequest
from rankion_memory.repositories import Images

from .support import make_world, new_team


async def test_purging_a_root_and_its_variant_together_leaves_no_dangling_parent() -> None:
    world = make_world()
    me = await new_team(world, 100)
    app = world.app
    root = await app.creation.generate(me, GenerateRequest(prompt="root"))
    await app.run_pending()
    child = await app.creation.edit(me, root.image_id, EditRequest(prompt="child"))
    await app.run_pending()
    grandchild = await app.creation.edit(me, child.image_id, EditRequest(prompt="grandchild"))
    await app.run_pending()
    await app.gallery.delete(me, root.image_id)
    await app.gallery.delete(me, child.image_id)
    world.clock.advance(timedelta(days=31))

    assert await app.gallery.purge() == 2

    survivor = (await app.gallery.detail(me, grandchild.image_id)).view.image
    assert (survivor.parent_id, survivor.root_id) == (None, None)
    assert await world.blobs.exists(survivor.blob_key or "")


async def test_an_image_restored_after_the_purge_read_it_stays(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world()
    me = await new_team(world, 100)
    app = world.app
    made = await app.creation.generate(me, GenerateRequest(prompt="kept"))
    await app.run_pending()
    await app.gallery.delete(me, made.image_id)
    world.clock.advance(timedelta(days=31))
    async with world.app.deps.storage.unit_of_work() as uow:
        stale = await uow.images.due_for_purge(world.clock.now(), 10)  # the purge's read
    await app.gallery.restore(me, made.image_id)  # then a restore, before the delete
    monkeypatch.setattr(Images, "due_for_purge", _once(stale))

    assert await app.gallery.purge() == 0

    kept = (await app.gallery.detail(me, made.image_id)).view.image
    assert kept.deleted_at is None
    assert await world.blobs.exists(kept.blob_key or "")


def _once(images: list[Image]) -> Any:
    answers = [images]

    async def due(self: Any, now: datetime, limit: int) -> list[Image]:
        return answers.pop() if answers else []

    return due
