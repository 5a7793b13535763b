"""Projects, the legacy per-project image list, credits and the ledger."""

from __future__ import annotations

import pytest

from .conftest import Api


async def test_create_and_list_projects(api: Api) -> None:
    created = await api.post("/v1/projects", {"name": "  Blog  "})
    assert created.status == 201
    project = created.data
    assert project["name"] == "Blog"
    assert created.headers["Location"] == f"/v1/projects/{project['id']}"
    assert (await api.get(created.headers["Location"])).data == project
    await api.project(name="Shop")
    await api.project(api.b, name="Theirs")
    listed = await api.get("/v1/projects?per_page=1")
    assert listed.json["meta"] == {
        "page": 1,
        "per_page": 1,
        "total": 2,
        "last_page": 2,
        "total_exact": True,
    }
    everything = await api.get("/v1/projects")
    assert [p["name"] for p in everything.data] == ["Blog", "Shop"]


@pytest.mark.parametrize(
    "body",
    [{"name": ""}, {"name": "   "}, {"name": "x" * 201}, {"name": 3}, {}, {"name": "a", "x": 1}],
)
async def test_project_validation(api: Api, body: dict[str, object]) -> None:
    answer = await api.post("/v1/projects", body)
    assert answer.status == 422
    assert answer.error["details"]


async def test_other_teams_project_is_404(api: Api) -> None:
    theirs = await api.project(api.b)
    a = await api.get(f"/v1/projects/{theirs}")
    b = await api.get("/v1/projects/999999")
    assert a.status == b.status == 404
    assert a.body == b.body


async def test_legacy_project_images(api: Api) -> None:
    project = await api.project()
    other = await api.project(name="Other")
    mine = await api.generate(project_id=project)
    await api.generate(project_id=other)
    await api.generate()
    answer = await api.get(f"/v1/projects/{project}/images")
    assert answer.status == 200
    assert [i["id"] for i in answer.data] == [mine]
    assert answer.json["meta"]["total"] == 1
    assert answer.headers["Deprecation"] == "true"
    assert answer.headers["Link"] == (f'</v1/images?project_id={project}>; rel="successor-version"')
    successor = await api.get(f"/v1/images?project_id={project}")
    assert successor.data == answer.data
    bad = await api.get(f"/v1/projects/{project}/images?sort=bogus")
    assert bad.status == 422


async def test_legacy_list_of_unknown_or_other_project_is_404(api: Api) -> None:
    theirs = await api.project(api.b)
    a = await api.get(f"/v1/projects/{theirs}/images")
    b = await api.get("/v1/projects/424242/images")
    assert a.status == b.status == 404
    assert a.body == b.body
    assert "Deprecation" not in a.headers


async def test_credits_and_ledger(api: Api) -> None:
    assert (await api.get("/v1/credits")).data == {"balance": 1000}
    answer = await api.post("/v1/generate/image", {"prompt": "a cat", "size": "256x256"})
    job_id, image_id = answer.data["job_id"], answer.data["image_id"]
    assert (await api.get("/v1/credits")).data == {"balance": 995}
    ledger = await api.get("/v1/credits/ledger")
    assert ledger.json["meta"]["total"] == 2
    newest, grant = ledger.data
    assert newest["delta"] == -5
    assert newest["reason"] == "generate"
    assert (newest["image_id"], newest["job_id"]) == (image_id, job_id)
    assert grant["delta"] == 1000
    assert grant["image_id"] is None and grant["job_id"] is None
    assert set(newest) == {"id", "delta", "reason", "image_id", "job_id", "created_at"}
    assert (await api.get("/v1/credits", team=api.b)).data == {"balance": 1000}


@pytest.mark.parametrize("query", ["page=0", "per_page=101", "per_page=abc", "page=1&page=2"])
async def test_ledger_and_projects_validate_paging(api: Api, query: str) -> None:
    for path in ("/v1/credits/ledger", "/v1/projects", "/v1/images/trash"):
        answer = await api.get(f"{path}?{query}")
        assert answer.status == 422, (path, query)
