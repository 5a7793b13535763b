"""Generate and edit: charges, jobs, variants, failures and refunds."""

from __future__ import annotations

import asyncio
import base64
import io
from typing import Any

import pytest
from PIL import Image as PILImage

from .conftest import Api, make_team, png_mask


async def test_generate_answers_202_and_queues(api: Api) -> None:
    answer = await api.post(
        "/v1/generate/image", {"prompt": "a red fox", "size": "256x256", "title": "Fox"}
    )
    assert answer.status == 202
    data = answer.data
    assert set(data) == {
        "job_id",
        "image_id",
        "processing_status",
        "credits_charged",
        "credits_remaining",
        "images",
    }
    assert data["processing_status"] == "queued"
    assert (data["credits_charged"], data["credits_remaining"]) == (5, 995)
    assert answer.headers["Location"] == f"/v1/images/{data['image_id']}"
    job = await api.get(f"/v1/jobs/{data['job_id']}")
    assert job.data["status"] == "queued"
    assert job.data["kind"] == "generate"
    assert await api.run_jobs() == 1
    done = await api.get(f"/v1/jobs/{data['job_id']}")
    assert done.data["status"] == "succeeded"
    assert done.data["attempts"] == 1
    assert done.data["finished_at"].endswith("Z")
    assert done.data["result"] == {"image_id": data["image_id"]}
    assert set(done.data) == {
        "id", "kind", "status", "attempts", "error", "created_at", "finished_at", "result"
    }  # fmt: skip


async def test_ready_image_downloads_without_the_token(api: Api) -> None:
    image = await api.image(await api.generate())
    assert image["processing_status"] == "ready"
    full = await api.fetch(image["url"])
    assert full.status == 200
    assert full.headers["Content-Type"] == "image/png"
    picture = PILImage.open(io.BytesIO(full.body))
    assert picture.size == (256, 256)
    assert len(full.body) == image["bytes"]
    thumb = await api.fetch(image["thumbnail_url"])
    assert thumb.status == 200
    assert thumb.headers["Content-Type"] == "image/webp"
    assert PILImage.open(io.BytesIO(thumb.body)).format == "WEBP"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prompt": ""}, "prompt"),
        ({"prompt": "   "}, "prompt"),
        ({"prompt": "x" * 32_001}, "prompt"),
        ({"title": "x" * 201}, "title"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"tags": ["x" * 51]}, "tags"),
        ({"tags": [""]}, "tags"),
        ({"size": "7x7"}, "size"),
        ({"model": "dall-e-9"}, "model"),
        ({"quality": "ultra"}, "quality"),
        ({"background": "pink"}, "background"),
        ({"output_format": "bmp"}, "output_format"),
        ({"project_id": 0}, "project_id"),
        ({"project_id": 123456}, "project_id"),
        ({"article_id": -3}, "article_id"),
        ({"slot": ""}, "slot"),
        ({"prompt": 42}, "prompt"),
        ({"credits_charged": 0}, "credits_charged"),
    ],
)
async def test_generate_validation(api: Api, body: dict[str, Any], field: str) -> None:
    answer = await api.post("/v1/generate/image", {"prompt": "ok", **body})
    assert answer.status == 422, body
    assert field in answer.error["details"]
    assert (await api.get("/v1/credits")).data["balance"] == 1000


async def test_a_32000_char_prompt_is_fine(api: Api) -> None:
    answer = await api.post("/v1/generate/image", {"prompt": "x" * 32_000})
    assert answer.status == 202


async def test_other_teams_project_in_the_body_is_like_a_missing_one(api: Api) -> None:
    theirs = await api.project(api.b)
    a = await api.post("/v1/generate/image", {"prompt": "x", "project_id": theirs})
    b = await api.post("/v1/generate/image", {"prompt": "x", "project_id": 987654})
    assert a.status == b.status == 422
    assert a.body == b.body


async def test_402_when_credits_are_short_and_nothing_is_made(api: Api) -> None:
    poor = await make_team(api.rankion, "poor", 4)
    answer = await api.post("/v1/generate/image", {"prompt": "x"}, team=poor)
    assert answer.status == 402
    assert answer.error["code"] == "insufficient_credits"
    assert answer.error["details"] == {"needed": 5, "balance": 4}
    assert (await api.get("/v1/images", team=poor)).json["meta"]["total"] == 0
    assert (await api.get("/v1/credits", team=poor)).data == {"balance": 4}
    assert (await api.get("/v1/credits/ledger", team=poor)).json["meta"]["total"] == 1
    assert await api.run_jobs() == 0


async def test_a_rejected_prompt_fails_readably_and_refunds(api: Api) -> None:
    answer = await api.post("/v1/generate/image", {"prompt": "[reject] something"})
    job_id, image_id = answer.data["job_id"], answer.data["image_id"]
    await api.run_jobs()
    image = await api.image(image_id)
    assert image["processing_status"] == "failed"
    assert "content policy" in image["error"]
    assert image["url"] is None
    assert image["credits_charged"] == 0
    job = (await api.get(f"/v1/jobs/{job_id}")).data
    assert job["status"] == "failed"
    assert "content policy" in job["error"]
    assert (await api.get("/v1/credits")).data == {"balance": 1000}
    refund = (await api.get("/v1/credits/ledger")).data[0]
    assert (refund["delta"], refund["reason"], refund["job_id"]) == (5, "refund", job_id)
    assert refund["image_id"] == image_id


async def test_edit_makes_a_new_variant_and_keeps_the_original(api: Api) -> None:
    root_id = await api.generate()
    root = await api.image(root_id)
    before = (await api.fetch(root["url"])).body
    answer = await api.edit(root_id)
    assert answer.status == 202
    data = answer.data
    assert data["credits_charged"] == 10
    assert answer.headers["Location"] == f"/v1/images/{data['image_id']}"
    await api.run_jobs()
    child = await api.image(data["image_id"])
    assert (child["parent_id"], child["root_id"]) == (root_id, root_id)
    assert child["edit_session_id"] == data["edit_session_id"]
    assert child["processing_status"] == "ready"
    detail = await api.image(root_id)
    assert detail["variants"][-1]["id"] == data["image_id"]
    assert detail["variants"][-1]["processing_status"] == "ready"
    assert detail["variants"][-1]["depth"] == 1
    assert detail["variants"][-1]["url"]
    assert detail["edited_at"] == child["created_at"]
    assert (await api.fetch(detail["url"])).body == before
    assert (await api.fetch(child["url"])).body != before


async def test_edit_of_an_edit_moves_every_ancestor(api: Api) -> None:
    root_id = await api.generate()
    first = (await api.edit(root_id)).data
    await api.run_jobs()
    second = (await api.edit(first["image_id"], edit_session_id=first["edit_session_id"])).data
    await api.run_jobs()
    assert second["edit_session_id"] == first["edit_session_id"]
    newest = await api.image(second["image_id"])
    assert [p["id"] for p in newest["parents"]] == [root_id, first["image_id"]]
    assert newest["root_id"] == root_id
    root = await api.image(root_id)
    middle = await api.image(first["image_id"])
    assert root["edited_at"] == middle["edited_at"] == newest["created_at"]
    assert [v["id"] for v in root["variants"]] == [first["image_id"], second["image_id"]]
    assert [v["depth"] for v in root["variants"]] == [1, 2]


async def test_edit_with_a_mask(api: Api) -> None:
    root_id = await api.generate()
    answer = await api.edit(root_id, mask=png_mask())
    assert answer.status == 202, answer.body
    await api.run_jobs()
    assert (await api.image(answer.data["image_id"]))["processing_status"] == "ready"
    bad = await api.edit(root_id, mask="not base64!")
    assert bad.status == 422
    assert "mask" in bad.error["details"]


async def test_a_masks_upload_holds_back_no_other_write(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The mask is checked and stored before the edit's unit of work: a slow blob
    store holds back no other write (the storage runs one unit of work at a time)."""
    root_id = await api.generate()
    theirs = await api.generate(api.b)
    blobs = api.rankion.deps.blobs
    put = blobs.put
    uploading, go_on = asyncio.Event(), asyncio.Event()

    async def slow_put(data: bytes, **options: Any) -> str:
        if options.get("kind") == "masks":
            uploading.set()
            await go_on.wait()
        return await put(data, **options)

    monkeypatch.setattr(blobs, "put", slow_put)
    edit = asyncio.ensure_future(api.edit(root_id, mask=png_mask()))
    await asyncio.wait_for(uploading.wait(), 5)
    flipped = await asyncio.wait_for(api.post(f"/v1/images/{theirs}/favorite", team=api.b), 5)
    assert flipped.status == 200, flipped.body
    go_on.set()
    answer = await edit
    assert answer.status == 202, answer.body


def _png(width: int, height: int, mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    PILImage.new(mode, (width, height)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("mask", "detail"),
    [
        (base64.b64encode(b"hello").decode(), "must be a PNG image"),
        (png_mask(10, 10), "is 10x10 but the image is 256x256; they must match"),
        (base64.b64encode(_png(256, 256, "L")).decode(), "must have an alpha channel"),
        (base64.b64encode(_png(256, 256)[:60]).decode(), "truncated or corrupt"),
    ],
    ids=["not-png", "wrong-size", "no-alpha", "corrupt"],
)
async def test_a_bad_mask_is_422_naming_mask(api: Api, mask: str, detail: str) -> None:
    root_id = await api.generate()
    answer = await api.edit(root_id, mask=mask)
    assert answer.status == 422, answer.body
    assert answer.error["code"] == "validation_error"
    assert list(answer.error["details"]) == ["mask"]
    assert detail in answer.error["details"]["mask"], answer.body


async def test_edit_session_of_another_tree_is_422(api: Api) -> None:
    one, two = await api.generate(), await api.generate()
    session = (await api.edit(one)).data["edit_session_id"]
    answer = await api.edit(two, edit_session_id=session)
    assert answer.status == 422
    assert "edit_session_id" in answer.error["details"]


async def test_edit_of_a_not_ready_image_is_409(api: Api) -> None:
    image_id = await api.generate(run=False)
    answer = await api.edit(image_id)
    assert answer.status == 409
    assert answer.error["code"] == "image_not_ready"
    assert (await api.get("/v1/credits")).data["balance"] == 995


async def test_edit_of_a_trashed_image_is_409(api: Api) -> None:
    image_id = await api.generate()
    await api.call("DELETE", f"/v1/images/{image_id}")
    answer = await api.edit(image_id)
    assert answer.status == 409
    assert answer.error["code"] == "image_in_trash"


@pytest.mark.parametrize(
    "body",
    [
        {"prompt": ""},
        {"prompt": "x" * 32_001},
        {},
        {"prompt": "x", "quality": "ultra"},
        {"prompt": "x", "title": "t"},
    ],
)
async def test_edit_validation(api: Api, body: dict[str, Any]) -> None:
    image_id = await api.generate()
    answer = await api.post(f"/v1/images/{image_id}/edit", body)
    assert answer.status == 422, body


async def test_edit_of_missing_or_other_teams_image_is_404(api: Api) -> None:
    theirs = await api.generate(api.b)
    a, b = await api.edit(theirs), await api.edit(10**6)
    assert a.status == b.status == 404
    assert a.body == b.body
    assert (await api.get("/v1/credits")).data["balance"] == 1000


async def test_jobs_of_other_teams_are_404(api: Api) -> None:
    answer = await api.post("/v1/generate/image", {"prompt": "x"}, team=api.b)
    theirs = answer.data["job_id"]
    a, b = await api.get(f"/v1/jobs/{theirs}"), await api.get("/v1/jobs/999999")
    assert a.status == b.status == 404
    assert a.body == b.body
