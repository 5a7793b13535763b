"""The main flows end to end over HTTP, once over memory storage and once over SQLite."""

from __future__ import annotations

import io
import json
import zipfile

from PIL import Image as PILImage

from .conftest import Api, relative


async def test_generate_edit_download(flow_api: Api) -> None:
    api = flow_api
    root_id = await api.generate(title="Hero", tags=["launch"])
    root = await api.image(root_id)
    original = await api.fetch(root["url"])
    assert PILImage.open(io.BytesIO(original.body)).size == (256, 256)
    edit = await api.edit(root_id)
    assert edit.status == 202
    await api.run_jobs()
    detail = await api.image(root_id)
    newest = detail["variants"][-1]
    assert newest["id"] == edit.data["image_id"] and newest["processing_status"] == "ready"
    assert (await api.fetch(detail["url"])).body == original.body
    assert detail["edited_at"] is not None
    assert (await api.get("/v1/credits")).data == {"balance": 985}
    listed = await api.get("/v1/images?q=hero&tags[]=LAUNCH&sort=edited")
    assert [i["id"] for i in listed.data] == [root_id, newest["id"]]


async def test_failure_is_refunded(flow_api: Api) -> None:
    api = flow_api
    image_id = await api.generate(prompt="[reject] no")
    image = await api.image(image_id)
    assert image["processing_status"] == "failed" and image["error"]
    ledger = (await api.get("/v1/credits/ledger")).data
    assert [e["reason"] for e in ledger[:2]] == ["refund", "generate"]
    assert (await api.get("/v1/credits")).data == {"balance": 1000}


async def test_trash_bulk_and_forever(flow_api: Api) -> None:
    api = flow_api
    one, two = await api.generate(), await api.generate()
    child = (await api.edit(one)).data["image_id"]
    await api.run_jobs()
    theirs = await api.generate(api.b)
    deleted = await api.post("/v1/images/bulk/delete", {"ids": [one, two, theirs]})
    assert deleted.data == {"deleted": [one, two], "already_in_trash": [], "not_found": [theirs]}
    assert [i["id"] for i in (await api.get("/v1/images")).data] == [child]
    restored = await api.post("/v1/images/bulk/restore", {"ids": [two]})
    assert restored.data["restored"] == [two]
    assert (await api.call("DELETE", f"/v1/images/{one}/forever")).status == 204
    orphan = await api.image(child)
    assert (orphan["parent_id"], orphan["root_id"]) == (None, None)


async def test_export_and_share(flow_api: Api) -> None:
    api = flow_api
    image_id = await api.generate(title="Cover <b>")
    started = await api.post("/v1/images/bulk/export", {"ids": [image_id, 999]})
    await api.run_jobs()
    export = (await api.get(started.headers["Location"])).data
    archive = zipfile.ZipFile(io.BytesIO((await api.fetch(export["download_url"])).body))
    manifest = json.loads(archive.read("manifest.json"))
    assert [r["id"] for r in manifest["images"]] == [image_id]
    assert manifest["skipped_ids"] == [999]
    share = (await api.post(f"/v1/images/{image_id}/share")).data
    page = await api.get(relative(share["public_url"]), anonymous=True)
    assert page.status == 200 and b"Cover &lt;b&gt;" in page.body
    await api.call("DELETE", f"/v1/images/{image_id}/share")
    assert (await api.get(relative(share["public_url"]), anonymous=True)).status == 404
    await api.rankion.shares.flush_views()  # what the server does every second
    assert (await api.image(image_id))["share_views"] == 1


async def test_idempotent_generate(flow_api: Api) -> None:
    api = flow_api
    headers = {"Idempotency-Key": "flow"}
    first = await api.post("/v1/generate/image", {"prompt": "x"}, headers=headers)
    again = await api.post("/v1/generate/image", {"prompt": "x"}, headers=headers)
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"
    other = await api.post("/v1/generate/image", {"prompt": "y"}, headers=headers)
    assert other.error["code"] == "idempotency_key_reused"
    assert (await api.get("/v1/credits")).data == {"balance": 995}


async def test_calendar_rules(flow_api: Api) -> None:
    api = flow_api
    project = await api.project()
    path = f"/v1/projects/{project}/calendar"
    seed = {
        "title": "AI Coding Tools — Launch Post",
        "scheduled_at": "2026-05-15T09:00:00Z",
        "article_id": 88,
        "status": "published",
    }
    event = (await api.post(path, seed)).data
    put = f"/v1/calendar/{event['id']}"
    moved = await api.call("PUT", put, {"scheduled_at": "2026-05-16T09:00:00Z"})
    assert moved.status == 409 and moved.error["code"] == "event_published"
    same = await api.call("PUT", put, {"scheduled_at": "2026-05-15T09:00:00Z"})
    assert same.status == 200
    idea = (await api.post(path, {"title": "Later", "status": "idea"})).data
    assert (
        await api.call("PUT", f"/v1/calendar/{idea['id']}", {"status": "planned"})
    ).status == 422
    listed = await api.get(path + "?from=2026-05-15&to=2026-05-15")
    assert [e["id"] for e in listed.data] == [event["id"]]
