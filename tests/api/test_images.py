"""Reading the gallery: list, filters, detail, metadata and favourites."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from .conftest import Api

IMAGE_FIELDS = {
    "id", "team_id", "project_id", "article_id", "slot", "title", "prompt", "model",
    "size", "quality", "tags", "is_favorite", "processing_status", "error", "url",
    "thumbnail_url", "width", "height", "mime_type", "bytes", "parent_id", "root_id",
    "edit_session_id", "credits_charged", "share", "share_views", "created_at",
    "updated_at", "edited_at", "deleted_at", "purge_at",
}  # fmt: skip


async def _ids(api: Api, query: str) -> list[int]:
    answer = await api.get(f"/v1/images?{query}")
    assert answer.status == 200, (query, answer.body)
    return [i["id"] for i in answer.data]


async def test_an_image_has_every_contract_field(api: Api) -> None:
    image_id = await api.generate(title="Hero", tags=["Launch"])
    image = await api.image(image_id)
    assert set(image) >= IMAGE_FIELDS
    assert image["processing_status"] == "ready"
    assert image["team_id"] == api.a.id
    assert (image["width"], image["height"], image["mime_type"]) == (256, 256, "image/png")
    assert image["credits_charged"] == 5
    assert image["share"] is None and image["share_views"] == 0
    assert image["created_at"].endswith("Z") and image["updated_at"].endswith("Z")
    assert image["variants"] == [] and image["parents"] == []


async def test_queued_image_has_no_urls(api: Api) -> None:
    image_id = await api.generate(run=False)
    image = await api.image(image_id)
    assert image["processing_status"] == "queued"
    assert image["url"] is None and image["thumbnail_url"] is None


async def test_list_filters(api: Api) -> None:
    project = await api.project()
    cat = await api.generate(prompt="a ginger cat", tags=["Pets", "cute"], project_id=project)
    dog = await api.generate(prompt="a dog on a beach", title="Beach day", tags=["pets"])
    failed = await api.generate(prompt="[reject] nope")
    await api.generate(team=api.b, prompt="a ginger cat")
    await api.post(f"/v1/images/{dog}/favorite")
    assert await _ids(api, "") == [failed, dog, cat]
    assert await _ids(api, "sort=oldest") == [cat, dog, failed]
    assert await _ids(api, "q=GINGER") == [cat]
    assert await _ids(api, "q=beach") == [dog]
    assert await _ids(api, "favorite=true") == [dog]
    assert await _ids(api, "favorite=false") == [failed, cat]
    assert await _ids(api, "tags[]=pets") == [dog, cat]
    assert await _ids(api, "tags[]=pets&tags[]=CUTE") == [cat]
    assert await _ids(api, f"project_id={project}") == [cat]
    assert await _ids(api, "status=failed") == [failed]
    assert await _ids(api, "status=ready,failed") == [failed, dog, cat]
    assert await _ids(api, "model=procedural-v1") == [failed, dog, cat]
    assert await _ids(api, "model=dall-e-2") == []
    assert await _ids(api, "per_page=1&page=2") == [dog]


@pytest.mark.parametrize("q", ["%F0%9F%9A%80", "%25", "!!!", "%23", "%F0%9F%9A%80+%25"])
async def test_a_q_without_a_word_matches_nothing(flow_api: Api, q: str) -> None:
    api = flow_api
    launch = await api.generate(title="Launch \N{ROCKET} C++ 100%")
    await api.generate(prompt="a quiet harbour")
    answer = await api.get(f"/v1/images?q={q}")
    assert answer.status == 200, answer.body
    assert answer.data == []
    assert answer.json["meta"]["total"] == 0 and answer.json["meta"]["last_page"] == 1
    assert await _ids(api, "q=C%2B%2B") == [launch]  # a word among the symbols still counts
    assert await _ids(api, "q=%F0%9F%9A%80+launch") == [launch]
    assert len(await _ids(api, "q=+")) == 2  # a blank q is no search


async def test_time_range_and_dates(api: Api) -> None:
    first = await api.generate()
    api.clock.advance(timedelta(days=2))
    second = await api.generate()
    first_day = (await api.image(first))["created_at"][:10]
    second_day = (await api.image(second))["created_at"][:10]
    assert await _ids(api, f"from={first_day}&to={first_day}") == [first]
    assert await _ids(api, f"from={second_day}") == [second]
    assert await _ids(api, f"to={first_day}") == [first]
    created = (await api.image(second))["created_at"]
    assert await _ids(api, f"from={created}") == [second]
    spaced = f"from={first_day}T00:00:00 00:00&to={first_day}T23:59:59.999999%2B00:00"
    assert await _ids(api, spaced) == [first]


async def test_edited_sort_puts_never_edited_last(api: Api) -> None:
    old = await api.generate()
    new = await api.generate()
    assert (await api.edit(old)).status == 202
    ids = await _ids(api, "sort=edited")
    assert ids[0] == old
    assert ids.index(new) > ids.index(old)


@pytest.mark.parametrize(
    "query",
    [
        "sort=bogus",
        "per_page=0",
        "per_page=101",
        "page=0",
        "page=-1",
        "page=abc",
        "from=yesterday",
        "to=2026-02-30",
        "from=2026-05-01T10:00:00",
        "favorite=yes",
        "status=done",
        "project_id=0",
        "project_id=abc",
        "tags[]=",
        f"tags[]={'x' * 51}",
        "sort=newest&sort=oldest",
        f"q={'q' * 501}",
        "q=" + "+".join("abcdefghijk"),
    ],
)
async def test_bad_filters_are_422(api: Api, query: str) -> None:
    answer = await api.get(f"/v1/images?{query}")
    assert answer.status == 422, query
    assert answer.error["code"] == "validation_error"
    assert answer.error["details"]


async def test_q_holds_at_most_ten_different_words(api: Api) -> None:
    ten = "+".join("abcdefghij")
    assert (await api.get(f"/v1/images?q={ten}+A+b+j")).status == 200  # the same words again
    answer = await api.get(f"/v1/images?q={ten}+k")
    assert answer.status == 422
    assert answer.error["details"] == {"q": "at most 10 different words"}


async def test_unknown_query_params_are_refused_with_a_suggestion(api: Api) -> None:
    answer = await api.get("/v1/images?colour=red&tag=hero&favourite=true&page=1")
    assert answer.status == 422
    assert answer.error["code"] == "validation_error"
    assert answer.error["details"] == {
        "colour": "unknown parameter",
        "tag": "unknown parameter; did you mean tags[]?",
        "favourite": "unknown parameter; did you mean favorite?",
    }


async def test_meta_last_page_is_at_least_one(api: Api) -> None:
    answer = await api.get("/v1/images")
    assert answer.json["meta"] == {
        "page": 1,
        "per_page": 24,
        "total": 0,
        "last_page": 1,
        "total_exact": True,
    }


async def test_patch_title_and_tags(api: Api) -> None:
    image_id = await api.generate(title="Old", tags=["a"])
    path = f"/v1/images/{image_id}"
    answer = await api.call("PATCH", path, {"tags": [" Sun ", "sun", "Beach", "SUN"]})
    assert answer.status == 200
    assert answer.data["tags"] == ["Sun", "Beach"]
    assert answer.data["title"] == "Old"
    renamed = await api.call("PATCH", path, {"title": "New"})
    assert renamed.data["title"] == "New"
    assert renamed.data["tags"] == ["Sun", "Beach"]
    cleared = await api.call("PATCH", path, {"title": None})
    assert cleared.data["title"] is None
    assert (await api.image(image_id))["title"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tags": [""]}, "tags"),
        ({"tags": ["   "]}, "tags"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"tags": ["x" * 51]}, "tags"),
        ({"tags": [1]}, "tags[0]"),
        ({"tags": None}, "tags"),
        ({"title": "x" * 201}, "title"),
        ({"title": 7}, "title"),
        ({"is_favorite": True}, "is_favorite"),
        ({"team_id": 2}, "team_id"),
    ],
)
async def test_patch_validation(api: Api, body: dict[str, Any], field: str) -> None:
    image_id = await api.generate()
    answer = await api.call("PATCH", f"/v1/images/{image_id}", body)
    assert answer.status == 422, body
    assert field in answer.error["details"]


async def test_favorite_toggles_with_or_without_body(api: Api) -> None:
    image_id = await api.generate()
    path = f"/v1/images/{image_id}/favorite"
    first = await api.post(path)
    assert first.status == 200
    assert first.data == {"id": image_id, "is_favorite": True}
    second = await api.post(path, {})
    assert second.data == {"id": image_id, "is_favorite": False}
    assert (await api.post(path, {"value": True})).status == 422
    assert (await api.post(path, raw=b"[]")).status == 422


async def test_list_shows_variants_as_rows_and_hides_trash(api: Api) -> None:
    root = await api.generate()
    variant = (await api.edit(root)).data["image_id"]
    await api.run_jobs()
    gone = await api.generate()
    await api.call("DELETE", f"/v1/images/{gone}")
    assert await _ids(api, "") == [variant, root]
