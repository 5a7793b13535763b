"""The seed page's flows over real HTTP against the installed ``rankion serve``."""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

import pytest
from PIL import Image

from .support import Api, Server, expect, generate, poll

pytestmark = pytest.mark.slow

MISSING_ID = 987_654_321


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# ---------------------------------------------------------------- (a) calendar


async def test_seed_calendar_example_is_created_and_read_back(api: Api, server: Server) -> None:
    project = server.tenant.project_id
    body = {
        "title": "AI Coding Tools — Launch Post",
        "scheduled_at": "2026-05-15T09:00:00Z",
        "article_id": 88,
        "status": "scheduled",
    }
    created = expect(await api.post(f"/v1/projects/{project}/calendar", body), 201)
    event = created.data
    assert {k: event[k] for k in body} == body
    assert event["project_id"] == project
    assert event["type"] == "article"

    read = expect(await api.get(created.headers["Location"]), 200).data
    assert read == event
    assert expect(await api.get(f"/v1/calendar/{event['id']}"), 200).data == event

    listed = await api.get(f"/v1/projects/{project}/calendar?from=2026-05-15&to=2026-05-15")
    assert event["id"] in [e["id"] for e in expect(listed, 200).data]


# ---------------------------------------------------------------- (b) generate


async def test_generated_image_downloads_without_the_token(api: Api, anonymous: Api) -> None:
    queued = await api.post("/v1/generate/image", {"prompt": "a lighthouse at dusk"})
    job = expect(queued, 202).data
    assert job["processing_status"] == "queued"
    assert job["credits_charged"] == 5
    assert queued.headers["Location"].endswith(f"/v1/images/{job['image_id']}")

    image = await generate(api, "a lighthouse at dusk, second take", size="512x512")
    full = decode(expect(await anonymous.get(image["url"]), 200).body)
    assert full.size == (image["width"], image["height"]) == (512, 512)
    thumb = decode(expect(await anonymous.get(image["thumbnail_url"]), 200).body)
    assert max(thumb.size) <= max(full.size)


# ---------------------------------------------------------------- (c) edit


async def newest_variant_ready(api: Api, image_id: int, variant_id: int) -> dict[str, Any] | None:
    detail = expect(await api.get(f"/v1/images/{image_id}"), 200).data
    newest = detail["variants"][-1] if detail["variants"] else None
    if newest is None or newest["id"] != variant_id:
        return None
    assert newest["processing_status"] != "failed", newest
    return detail if newest["processing_status"] == "ready" else None


async def test_seed_edit_example_adds_a_variant_and_keeps_the_original(
    api: Api, anonymous: Api
) -> None:
    original = await generate(api, "a mountain village in the alps")
    before = expect(await anonymous.get(original["url"]), 200).body

    edit = await api.post(
        f"/v1/images/{original['id']}/edit", {"prompt": "same scene, golden hour lighting"}
    )
    started = expect(edit, 202).data
    assert set(started) >= {"job_id", "edit_session_id", "image_id"}

    detail = await poll(lambda: newest_variant_ready(api, original["id"], started["image_id"]))
    assert detail["variants"][-1]["parent_id"] == original["id"]
    variant = expect(await api.get(f"/v1/images/{started['image_id']}"), 200).data
    assert variant["parent_id"] == original["id"]
    after = expect(await anonymous.get(detail["url"]), 200).body
    assert after == before, "the original's bytes changed"
    edited = expect(await anonymous.get(variant["url"]), 200).body
    assert edited != before
    assert decode(edited).size == decode(before).size


# ---------------------------------------------------------------- (d) export


async def export_ready(api: Api, job_id: int) -> dict[str, Any] | None:
    status = expect(await api.get(f"/v1/images/exports/{job_id}"), 200).data
    assert status["status"] != "failed", status
    return status if status["status"] == "ready" else None


async def test_bulk_export_zip_has_the_images_and_a_manifest(api: Api, anonymous: Api) -> None:
    first = await generate(api, "a red bicycle", title="Bicycle")
    second = await generate(api, "a blue canoe", title="Canoe")
    ids = [first["id"], second["id"], MISSING_ID]
    job = expect(await api.post("/v1/images/bulk/export", {"ids": ids}), 202).data

    status = await poll(lambda: export_ready(api, job["job_id"]))
    assert status["progress"] == {"done": 3, "total": 3}
    archive = expect(await anonymous.get(status["download_url"]), 200).body
    with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
        manifest = json.loads(zipped.read("manifest.json"))
        entries = {entry["id"]: entry for entry in manifest["images"]}
        assert set(entries) == {first["id"], second["id"]}
        assert manifest["skipped_ids"] == [MISSING_ID]
        for image in (first, second):
            entry = entries[image["id"]]
            assert entry["file"].startswith(f"{image['id']}-")
            assert decode(zipped.read(entry["file"])).size == (image["width"], image["height"])
            assert entry["title"] == image["title"]


# ---------------------------------------------------------------- (e) share


def og_image(page: str) -> str:
    tags = re.findall(r"<meta[^>]*>", page)
    found = [t for t in tags if re.search(r"""property=["']og:image["']""", t)]
    assert found, f"no og:image in the page: {page[:500]}"
    content = re.search(r"""content=["']([^"']+)["']""", found[0])
    assert content, found[0]
    return content.group(1)


async def test_share_serves_a_public_page_and_image_until_revoked(api: Api, anonymous: Api) -> None:
    image = await generate(api, "a paper boat on a pond", title="Paper boat")
    data = expect(await anonymous.get(image["url"]), 200).body
    share = expect(await api.post(f"/v1/images/{image['id']}/share"), 201).data
    page_path = f"/s/{share['token']}"
    assert share["public_url"].endswith(page_path)

    page = expect(await anonymous.get(share["public_url"]), 200)
    assert page.headers["Content-Type"].startswith("text/html")
    preview = og_image(page.text)
    assert expect(await anonymous.get(preview), 200).body == data
    assert expect(await anonymous.get(f"{page_path}/image"), 200).body == data

    expect(await api.delete(f"/v1/images/{image['id']}/share"), 204)
    assert (await anonymous.get(page_path)).status == 404
    assert (await anonymous.get(f"{page_path}/image")).status == 404
