"""Consistency checks an operator (or a test) runs against a deployment's data.

``orphan_blobs`` lists the blobs nothing refers to any more: the blob store and the
database drifted apart. Run it while no job is in flight (a running job has written
its blobs a moment before its row points at them). What it may legitimately find is
what a process killed with ``-9`` was writing at that moment; anything else is a leak.
"""

from __future__ import annotations

from rankion_core import Rankion
from rankion_core.ports import Storage
from rankion_core.rules.previews import previews_of

__all__ = ["orphan_blobs", "referenced_blobs", "stored_blobs"]


async def orphan_blobs(rankion: Rankion) -> set[str]:
    """Keys in the blob store that no image row, export row, or queued or running
    job (its mask, its previews) refers to."""
    stored = await stored_blobs(rankion)
    return stored - await referenced_blobs(rankion.deps.storage)


async def stored_blobs(rankion: Rankion) -> set[str]:
    return {key async for key in rankion.deps.blobs.keys()}  # noqa: SIM118 (not a dict)


async def referenced_blobs(storage: Storage) -> set[str]:
    """Image and thumbnail keys of every image row (trashed ones too), every export's
    ZIP, and the masks and previews of jobs still queued or running, read in one unit
    of work. A finished job's previews are deleted with its end: one left is an orphan."""
    async with storage.unit_of_work() as uow:
        keys = await uow.images.blob_keys()
        keys |= await uow.exports.blob_keys()
        payloads = await uow.jobs.active_payloads()
    masks = {p.get("mask_key") for p in payloads}
    previews = {preview.key for p in payloads for preview in previews_of(p)}
    return keys | previews | {m for m in masks if isinstance(m, str)}
