"""Ids up to 2^63 - 1 over HTTP on both databases: a large id in a path, a filter or a
body answers exactly like a missing one (or is kept, for an external article id), never
a 500 from a column too narrow for it."""

from __future__ import annotations

from rankion_sqlalchemy import SqlStorage

from .conftest import ClientFactory
from .sqlapi import sql_storage, start_sql

__all__ = ["sql_storage"]

LARGE = (2**31, 2**63 - 1)


async def test_large_ids_answer_like_missing_ones(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    project = await api.project()
    image = await api.generate()
    missing = {
        path: (await api.get(path.format(9_999))).body
        for path in ("/v1/images/{}", "/v1/jobs/{}", "/v1/projects/{}/calendar")
    }
    for large in LARGE:
        for path, body in missing.items():
            answer = await api.get(path.format(large))
            assert (answer.status, answer.body) == (404, body), path
        assert (await api.get(f"/v1/images/{large}/similar")).status == 404
        listed = await api.get(f"/v1/images?project_id={large}")
        assert (listed.status, listed.data) == (200, [])
        made = await api.post("/v1/generate/image", {"prompt": "a fox", "project_id": large})
        assert made.status == 422, made.body
        gone = await api.post("/v1/images/bulk/delete", {"ids": [image, large]})
        assert gone.status == 200, gone.body
        assert (await api.post("/v1/images/bulk/restore", {"ids": [image]})).status == 200
    event = await api.post(
        f"/v1/projects/{project}/calendar",
        {"title": "Launch", "status": "idea", "article_id": LARGE[1]},
    )
    assert event.status == 201, event.body
    assert event.data["article_id"] == LARGE[1]
