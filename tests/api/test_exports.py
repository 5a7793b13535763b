"""Bulk export to a ZIP, and its download through a signed link."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime, timedelta

from .conftest import Api


async def test_export_to_zip_and_download(api: Api) -> None:
    one = await api.generate(title="Sunset Über Berlin", tags=["city"])
    two = await api.generate(prompt="a quiet harbour")
    trashed = await api.generate()
    await api.call("DELETE", f"/v1/images/{trashed}")
    failed = await api.generate(prompt="[reject] not this one")
    theirs = await api.generate(api.b)
    ids = [one, two, trashed, failed, theirs, 999_999]
    started = await api.post("/v1/images/bulk/export", {"ids": ids})
    assert started.status == 202
    job_id = started.data["job_id"]
    assert started.data == {"job_id": job_id, "status": "queued"}
    assert started.headers["Location"] == f"/v1/images/exports/{job_id}"
    queued = (await api.get(started.headers["Location"])).data
    assert queued["status"] == "queued"
    assert queued["progress"] == {"done": 0, "total": 6}
    assert queued["download_url"] is None
    await api.run_jobs()
    ready = (await api.get(started.headers["Location"])).data
    assert ready["status"] == "ready"
    assert ready["progress"] == {"done": 6, "total": 6}
    assert ready["size_bytes"] > 0
    assert ready["expires_at"].endswith("Z")
    assert ready["error"] is None
    download = await api.fetch(ready["download_url"])
    assert download.status == 200
    assert download.headers["Content-Type"] == "application/zip"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert len(download.body) == ready["size_bytes"]
    archive = zipfile.ZipFile(io.BytesIO(download.body))
    manifest = json.loads(archive.read("manifest.json"))
    assert sorted(manifest["skipped_ids"]) == sorted([trashed, failed, theirs, 999_999])
    rows = {row["id"]: row for row in manifest["images"]}
    assert set(rows) == {one, two}
    assert rows[one]["file"] == f"{one}-Sunset-Uber-Berlin.png"
    assert rows[one]["tags"] == ["city"]
    assert rows[two]["file"] == f"{two}-a-quiet-harbour.png"
    for image_id, row in rows.items():
        image = await api.image(image_id)
        assert archive.read(row["file"]) == (await api.fetch(image["url"])).body
        assert (row["width"], row["height"]) == (image["width"], image["height"])
        assert row["created_at"] == image["created_at"]
        made = datetime.fromisoformat(image["created_at"])  # UTC; ZIP keeps 2-s steps
        assert archive.getinfo(row["file"]).date_time[:5] == made.timetuple()[:5]
    assert archive.getinfo("manifest.json").date_time[0] >= 2026
    job = (await api.get(f"/v1/jobs/{job_id}")).data
    assert job["kind"] == "export" and job["status"] == "succeeded"
    assert "blob_key" not in json.dumps(job)


async def test_export_link_expires(api: Api) -> None:
    started = await api.post("/v1/images/bulk/export", {"ids": [await api.generate()]})
    await api.run_jobs()
    location = started.headers["Location"]
    url = (await api.get(location)).data["download_url"]
    api.clock.advance(timedelta(hours=25))
    assert (await api.fetch(url)).status == 404
    assert (await api.get(location)).data["download_url"] is None


async def test_export_limit_is_501(api: Api) -> None:
    too_many = await api.post("/v1/images/bulk/export", {"ids": list(range(1, 502))})
    assert too_many.status == 422
    assert too_many.error["code"] == "bulk_limit_exceeded"
    fine = await api.post("/v1/images/bulk/export", {"ids": list(range(1, 501))})
    assert fine.status == 202


async def test_other_teams_export_is_404(api: Api) -> None:
    started = await api.post("/v1/images/bulk/export", {"ids": [1]}, team=api.b)
    theirs = started.data["job_id"]
    a = await api.get(f"/v1/images/exports/{theirs}")
    b = await api.get("/v1/images/exports/123456")
    assert a.status == b.status == 404
    assert a.body == b.body
    generate = await api.post("/v1/generate/image", {"prompt": "x"})
    not_an_export = await api.get(f"/v1/images/exports/{generate.data['job_id']}")
    assert not_an_export.body == a.body


async def test_an_export_waiting_for_a_retry_reads_queued_like_its_job(api: Api) -> None:
    image_id = await api.generate()
    async with api.rankion.deps.storage.unit_of_work() as uow:
        image = await uow.images.get(api.a.id, image_id)
    assert image is not None and image.blob_key is not None
    await api.rankion.deps.blobs.delete(image.blob_key)  # the image's file is gone
    started = await api.post("/v1/images/bulk/export", {"ids": [image_id]})
    job_id, location = started.data["job_id"], started.headers["Location"]
    expected = f"a file of image {image_id} is missing from the blob store"
    for attempt in (1, 2):
        assert await api.run_jobs() == 1
        job = (await api.get(f"/v1/jobs/{job_id}")).data
        export = (await api.get(location)).data
        assert export["status"] == job["status"] == "queued"
        assert (job["attempts"], job["error"]) == (attempt, expected)
        api.clock.advance(timedelta(hours=1))  # past the backoff
    assert await api.run_jobs() == 1
    job = (await api.get(f"/v1/jobs/{job_id}")).data
    export = (await api.get(location)).data
    assert job["status"] == export["status"] == "failed"
    assert job["error"] == export["error"] == expected
