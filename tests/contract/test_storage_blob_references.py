"""What the orphan check reads through the ports: every blob key a row refers to."""

from __future__ import annotations

from rankion_core.models import Export, ExportStatus, JobKind, JobStatus
from rankion_core.ports import Storage
from rankion_core.testing.builders import T0, add_images, add_jobs, at, image, job, two_teams


async def test_image_and_export_rows_name_their_blobs_of_every_team(storage: Storage) -> None:
    team, other = await two_teams(storage)
    await add_images(
        storage,
        image(team, blob_key="a.png", thumbnail_key="a.webp"),
        image(other, blob_key="b.png", thumbnail_key=None),
        image(team, blob_key=None, thumbnail_key=None),
    )
    first, second, third = await add_jobs(storage, job(team), job(other), job(team))
    async with storage.unit_of_work() as uow:
        await uow.exports.add(Export(first.id, team, [1], ExportStatus.QUEUED, T0))
        await uow.exports.add(
            Export(
                second.id, other, [2], ExportStatus.READY, T0, blob_key="x.zip", expires_at=at(9)
            )
        )
        await uow.exports.add(
            Export(third.id, team, [3], ExportStatus.READY, T0, blob_key="y.zip", expires_at=at(1))
        )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.images.blob_keys() == {"a.png", "a.webp", "b.png"}
        assert await uow.exports.blob_keys() == {"x.zip", "y.zip"}


async def test_active_payloads_are_those_of_queued_and_running_jobs(storage: Storage) -> None:
    team, other = await two_teams(storage)
    await add_jobs(
        storage,
        job(team, kind=JobKind.EDIT, payload={"source_id": 1, "mask_key": "m1.png"}),
        job(other, kind=JobKind.EDIT, payload={"source_id": 2, "mask_key": "m2.png"}),
        job(team, kind=JobKind.EDIT, status=JobStatus.SUCCEEDED, payload={"mask_key": "old"}),
        job(team, status=JobStatus.FAILED, payload={"image_id": 9}),
    )
    async with storage.unit_of_work() as uow:
        claimed = await uow.jobs.claim("w", at(1), at(2), [JobKind.EDIT])
        await uow.commit()
    assert claimed is not None
    async with storage.unit_of_work() as uow:
        payloads = await uow.jobs.active_payloads()
    assert sorted(str(p.get("mask_key")) for p in payloads) == ["m1.png", "m2.png"]
    assert all(isinstance(p, dict) for p in payloads)
