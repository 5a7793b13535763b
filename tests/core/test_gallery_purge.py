"""Regression: a purge batch holding a root and one of its variants."""

from __future__ import annotations

from datetime import timedelta

from rankion_core.services import EditRequest, GenerateRequest

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
