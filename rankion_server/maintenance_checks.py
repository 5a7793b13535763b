"""Consistency checks an operator (or a test) runs against a deployment's data.

``orphan_blobs`` lists the blobs nothing refers to any more: the blob store and the
database drifted apart. Run it while no job is in flight (a running job has written
its blobs a moment before its row points at them). What it may legitimately find is
what a process killed with ``-9`` was writing at that moment; anything else is a leak.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from rankion_core import Rankion
from rankion_core.models import JobStatus
from rankion_core.ports import Storage
from rankion_memory import MemoryStorage
from rankion_sqlalchemy import SqlStorage
from rankion_sqlalchemy.tables import exports, jobs

__all__ = ["orphan_blobs", "referenced_blobs", "stored_blobs"]

_ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)


async def orphan_blobs(rankion: Rankion) -> set[str]:
    """Keys in the blob store that no image row, export row or pending mask refers to."""
    stored = await stored_blobs(rankion)
    return stored - await referenced_blobs(rankion.deps.storage)


async def stored_blobs(rankion: Rankion) -> set[str]:
    return {key async for key in rankion.deps.blobs.keys()}  # noqa: SIM118 (not a dict)


async def referenced_blobs(storage: Storage) -> set[str]:
    """Image and thumbnail keys of every image row (trashed ones too), every export's
    ZIP, and the masks of edits still queued or running."""
    async with storage.unit_of_work() as uow:
        keys = await uow.images.blob_keys()
    export_keys, payloads = await _exports_and_active_payloads(storage)
    masks = {p.get("mask_key") for p in payloads}
    return keys | export_keys | {m for m in masks if isinstance(m, str)}


async def _exports_and_active_payloads(
    storage: Storage,
) -> tuple[set[str], list[dict[str, Any]]]:
    """The storage port lists neither exports nor jobs, so read the two backends this
    package ships directly; another backend would add its own branch here."""
    if isinstance(storage, SqlStorage):
        async with storage.engine.connect() as connection:
            zips = await connection.scalars(
                select(exports.c.blob_key).where(exports.c.blob_key.is_not(None))
            )
            export_keys = {str(key) for key in zips}
            rows = await connection.scalars(
                select(jobs.c.payload).where(jobs.c.status.in_(_ACTIVE))
            )
            return export_keys, [dict(row or {}) for row in rows]
    if isinstance(storage, MemoryStorage):
        async with storage.unit_of_work():  # holds the lock: a consistent snapshot
            tables = storage.tables
            export_keys = {e.blob_key for e in tables.exports.rows() if e.blob_key}
            payloads = [j.payload for j in tables.jobs.rows() if j.status in _ACTIVE]
        return export_keys, payloads
    raise TypeError(f"orphan_blobs cannot read exports and jobs of {type(storage).__name__}")
