"""Trash, restore, delete forever and the bulk forms."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from .conftest import NO_BODY, Api


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def test_soft_delete_and_again(api: Api) -> None:
    image_id = await api.generate()
    path = f"/v1/images/{image_id}"
    first = await api.call("DELETE", path)
    assert first.status == 200
    assert set(first.data) == {"id", "deleted_at", "purge_at"}
    assert _at(first.data["purge_at"]) - _at(first.data["deleted_at"]) == timedelta(days=30)
    again = await api.call("DELETE", path)
    assert again.data == first.data
    detail = await api.image(image_id)
    assert detail["deleted_at"] == first.data["deleted_at"]
    assert detail["purge_at"] == first.data["purge_at"]


async def test_trash_list_newest_deletion_first(api: Api) -> None:
    one, two, kept = await api.generate(), await api.generate(), await api.generate()
    await api.call("DELETE", f"/v1/images/{two}")
    api.clock.advance(timedelta(minutes=1))
    await api.call("DELETE", f"/v1/images/{one}")
    trash = await api.get("/v1/images/trash")
    assert [i["id"] for i in trash.data] == [one, two]
    assert all(i["purge_at"] for i in trash.data)
    assert trash.json["meta"]["total"] == 2
    assert kept not in [i["id"] for i in trash.data]
    assert (await api.get("/v1/images/trash", team=api.b)).data == []


async def test_restore(api: Api) -> None:
    image_id = await api.generate()
    path = f"/v1/images/{image_id}"
    not_yet = await api.post(f"{path}/restore")
    assert not_yet.status == 409
    assert not_yet.error["code"] == "not_in_trash"
    await api.call("DELETE", path)
    restored = await api.post(f"{path}/restore", {})
    assert restored.status == 200
    assert restored.data["id"] == image_id
    assert restored.data["deleted_at"] is None and restored.data["purge_at"] is None
    assert restored.data["url"]
    assert (await api.post(f"{path}/restore", {"x": 1})).status == 422


async def test_forever_only_from_trash_and_blobs_go(api: Api) -> None:
    image_id = await api.generate()
    image = await api.image(image_id)
    path = f"/v1/images/{image_id}"
    refused = await api.call("DELETE", f"{path}/forever")
    assert refused.status == 409
    assert refused.error["code"] == "not_in_trash"
    await api.call("DELETE", path)
    gone = await api.call("DELETE", f"{path}/forever")
    assert gone.status == 204
    assert gone.body == b""
    assert (await api.get(path)).status == 404
    assert (await api.fetch(image["url"])).status == 404
    assert (await api.call("DELETE", f"{path}/forever")).status == 404


async def test_forever_reattaches_variants(api: Api) -> None:
    root = await api.generate()
    middle = (await api.edit(root)).data["image_id"]
    await api.run_jobs()
    leaf = (await api.edit(middle)).data["image_id"]
    await api.run_jobs()
    await api.call("DELETE", f"/v1/images/{middle}")
    assert (await api.image(leaf))["parent_id"] == middle  # trash keeps the tree
    await api.call("DELETE", f"/v1/images/{middle}/forever")
    assert (await api.image(leaf))["parent_id"] == root
    assert [v["id"] for v in (await api.image(root))["variants"]] == [leaf]
    await api.call("DELETE", f"/v1/images/{root}")
    await api.call("DELETE", f"/v1/images/{root}/forever")
    orphan = await api.image(leaf)
    assert (orphan["parent_id"], orphan["root_id"]) == (None, None)


async def test_trashed_variants_show_in_detail(api: Api) -> None:
    root = await api.generate()
    child = (await api.edit(root)).data["image_id"]
    await api.run_jobs()
    deleted = await api.call("DELETE", f"/v1/images/{child}")
    variant = (await api.image(root))["variants"][0]
    assert variant["deleted_at"] == deleted.data["deleted_at"]


async def test_bulk_delete_and_restore(api: Api) -> None:
    one, two, three = await api.generate(), await api.generate(), await api.generate()
    theirs = await api.generate(api.b)
    await api.call("DELETE", f"/v1/images/{three}")
    deleted = await api.post("/v1/images/bulk/delete", {"ids": [one, two, three, theirs, 999]})
    assert deleted.status == 200
    assert deleted.data == {
        "deleted": [one, two],
        "already_in_trash": [three],
        "not_found": [theirs, 999],
    }
    assert (await api.image(theirs, team=api.b))["deleted_at"] is None
    await api.post(f"/v1/images/{two}/restore")
    restored = await api.post("/v1/images/bulk/restore", {"ids": [one, two, three, theirs]})
    assert restored.data == {
        "restored": [one, three],
        "not_in_trash": [two],
        "not_found": [theirs],
    }


@pytest.mark.parametrize("path", ["/v1/images/bulk/delete", "/v1/images/bulk/restore"])
async def test_bulk_limit_is_hard(api: Api, path: str) -> None:
    image_id = await api.generate()
    answer = await api.post(path, {"ids": [image_id, *range(10_000, 10_200)]})
    assert answer.status == 422
    assert answer.error["code"] == "bulk_limit_exceeded"
    assert (await api.image(image_id))["deleted_at"] is None
    fine = await api.post(path, {"ids": list(range(10_000, 10_200))})
    assert fine.status == 200
    assert len(fine.data["not_found"]) == 200


@pytest.mark.parametrize(
    "body",
    [{"ids": []}, {"ids": [0]}, {"ids": [-1]}, {"ids": ["1"]}, {"ids": 1}, {}, {"ids": [1.5]}],
)
async def test_bulk_validation(api: Api, body: dict[str, Any]) -> None:
    for path in ("/v1/images/bulk/delete", "/v1/images/bulk/restore", "/v1/images/bulk/export"):
        answer = await api.post(path, body)
        assert answer.status == 422, (path, body)
        assert "ids" in str(answer.error.get("details"))


async def test_missing_and_other_teams_ids_are_identical_404s(api: Api) -> None:
    theirs = await api.generate(api.b)
    await api.call("DELETE", f"/v1/images/{theirs}", team=api.b)
    for method, suffix in (
        ("DELETE", ""),
        ("POST", "/restore"),
        ("DELETE", "/forever"),
        ("GET", ""),
        ("PATCH", ""),
        ("POST", "/favorite"),
    ):
        body = {} if method == "PATCH" else NO_BODY
        answers = [
            await api.call(method, f"/v1/images/{image_id}{suffix}", body)
            for image_id in (theirs, 777777)
        ]
        assert [a.status for a in answers] == [404, 404], (method, suffix)
        assert answers[0].body == answers[1].body
    assert (await api.image(theirs, team=api.b))["deleted_at"] is not None
