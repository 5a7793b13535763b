"""Team isolation and mass assignment, walked from the OpenAPI document: a route
added to the server is covered without touching this file.

- Every id-taking route: another team's id, a nonexistent id and malformed ids get
  the same status, byte-identical bodies and the same headers (Date and request id
  aside), and the other team's objects are unchanged afterwards.
- Every write route: protected fields in the body (``team_id``, ``credits``,
  ``processing_status``, ``deleted_at``, ``view_count``, …) are rejected by name and
  change nothing.
"""

from __future__ import annotations

import re
from typing import Any

from .conftest import NO_BODY, Answer, Api, Team
from .test_team_scope import BODIES, MISSING

MALFORMED = ("abc", "0", "-1", "1e3", "9" * 19, "%20", "1.0")
IGNORED_HEADERS = {"date", "x-request-id"}
PROTECTED = (
    "id",
    "team_id",
    "user_id",
    "credits",
    "balance",
    "credits_charged",
    "processing_status",
    "deleted_at",
    "purge_at",
    "view_count",
    "share_views",
    "is_favorite",
    "root_id",
    "blob_key",
    "created_at",
    "attempts",
)
PARAM = re.compile(r"\{([^}]+)\}")


async def _ids(api: Api, team: Team) -> dict[str, int]:
    image = await api.generate(team)
    await api.post(f"/v1/images/{image}/share", team=team)
    chat = (await api.post(f"/v1/images/{image}/open-in-chat", team=team)).data["session_id"]
    project = await api.project(team)
    create = BODIES[("POST", "/v1/projects/{project}/calendar")]
    event = (await api.post(f"/v1/projects/{project}/calendar", create, team=team)).data["id"]
    job = (await api.post("/v1/generate/image", {"prompt": "x"}, team=team)).data["job_id"]
    export = await api.post("/v1/images/bulk/export", {"ids": [image]}, team=team)
    token = (await api.get("/v1/tokens", team=team)).data[0]["id"]
    return {
        "image": image,
        "chat": chat,
        "project": project,
        "event": event,
        "job": job,
        "export": export.data["job_id"],
        "token": token,
    }


def _kind(path: str, param: str) -> str:
    if param == "project":
        return "project"
    for prefix, kind in (
        ("/v1/calendar/", "event"),
        ("/v1/chat/sessions/", "chat"),
        ("/v1/images/exports/", "export"),
        ("/v1/jobs/", "job"),
        ("/v1/tokens/", "token"),
    ):
        if path.startswith(prefix):
            return kind
    return "image"


def _fill(path: str, value: Any) -> str:
    """``value``: the ids to take from, or one string for every parameter."""
    if isinstance(value, dict):
        return PARAM.sub(lambda m: str(value[_kind(path, m.group(1))]), path)
    return PARAM.sub(str(value), path)


async def _snapshot(api: Api, team: Team, ids: dict[str, int]) -> list[bytes]:
    reads = [
        f"/v1/images/{ids['image']}",
        "/v1/images?per_page=100&sort=oldest",
        "/v1/images/trash",
        f"/v1/projects/{ids['project']}",
        f"/v1/projects/{ids['project']}/calendar",
        f"/v1/calendar/{ids['event']}",
        f"/v1/chat/sessions/{ids['chat']}",
        f"/v1/jobs/{ids['job']}",
        f"/v1/images/exports/{ids['export']}",
        "/v1/credits",
        "/v1/credits/ledger?per_page=100",
    ]
    return [(await api.get(path, team=team)).body for path in reads]


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if op.get("security") != []  # public routes take tokens and signatures, not ids
    ]


def _same(answers: list[Answer], where: tuple[str, str]) -> None:
    first = answers[0]
    for answer in answers:
        assert answer.status == first.status == 404, (where, answer.status, answer.body)
        assert answer.body == first.body, where
        headers = {k.lower(): v for k, v in answer.headers.items()}
        expected = {k.lower(): v for k, v in first.headers.items()}
        for name in IGNORED_HEADERS:
            headers.pop(name, None)
            expected.pop(name, None)
        assert headers == expected, where


async def test_foreign_missing_and_malformed_ids_are_indistinguishable(flow_api: Api) -> None:
    api = flow_api
    document = (await api.get("/v1/openapi.json", anonymous=True)).json
    theirs = await _ids(api, api.b)
    before = await _snapshot(api, api.b, theirs)
    checked = 0
    for method, path, _ in _operations(document):
        if "{" not in path:
            continue
        body = BODIES.get((method, path), NO_BODY)
        targets = [_fill(path, theirs), _fill(path, MISSING), *(_fill(path, m) for m in MALFORMED)]
        answers = [await api.call(method, target, body) for target in targets]
        _same(answers, (method, path))
        checked += 1
    assert checked >= 20
    assert await _snapshot(api, api.b, theirs) == before


async def test_protected_fields_are_rejected_and_change_nothing(flow_api: Api) -> None:
    api = flow_api
    document = (await api.get("/v1/openapi.json", anonymous=True)).json
    schemas = document["components"]["schemas"]
    ours = await _ids(api, api.a)
    before = await _snapshot(api, api.a, ours)
    checked = 0
    for method, path, op in _operations(document):
        content = op.get("requestBody", {}).get("content", {}).get("application/json")
        if content is None:
            continue
        ref = content["schema"].get("$ref", "")
        allowed = set(schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))
        valid = BODIES.get((method, path), {})
        for name in (f for f in PROTECTED if f not in allowed):
            answer = await api.call(method, _fill(path, ours), {**valid, name: 1})
            assert answer.status == 422, (method, path, name, answer.body)
            assert answer.error["details"][name] == "unknown field", (method, path, name)
        checked += 1
    assert checked >= 10
    assert await _snapshot(api, api.a, ours) == before
