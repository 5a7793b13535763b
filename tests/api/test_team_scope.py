"""Every route with an id: another team's id answers exactly like a missing one."""

from __future__ import annotations

from typing import Any

from rankion_server.operations import op_of

from .conftest import NO_BODY, Api

NOT_FOUND = b'{"error":{"code":"not_found","message":"not found"}}'
MISSING = 987_654_321

#: a valid body per route, so that validation never answers before the lookup
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/images/{id}/edit"): {"prompt": "x"},
    ("PATCH", "/v1/images/{id}"): {"title": "x"},
    ("PATCH", "/v1/images/{id}/share"): {"expires_at": None},
    ("PUT", "/v1/calendar/{id}"): {"title": "x"},
    ("POST", "/v1/projects/{project}/calendar"): {"title": "x", "status": "idea"},
    ("PATCH", "/v1/projects/{project}"): {"name": "x"},
    ("POST", "/v1/projects/{project}/calendar/shift"): {
        "from": "2030-01-01T00:00:00Z",
        "to": "2030-01-31T00:00:00Z",
        "days": 1,
    },
}


async def _their_ids(api: Api) -> dict[str, int]:
    b = api.b
    image = await api.generate(b)
    await api.post(f"/v1/images/{image}/share", team=b)
    chat = (await api.post(f"/v1/images/{image}/open-in-chat", team=b)).data["session_id"]
    project = await api.project(b)
    event = (
        await api.post(
            f"/v1/projects/{project}/calendar",
            BODIES[("POST", "/v1/projects/{project}/calendar")],
            team=b,
        )
    ).data["id"]
    job = (await api.post("/v1/generate/image", {"prompt": "x"}, team=b)).data["job_id"]
    export = (await api.post("/v1/images/bulk/export", {"ids": [image]}, team=b)).data["job_id"]
    token = (await api.get("/v1/tokens", team=b)).data[0]["id"]
    return {
        "image": image,
        "chat": chat,
        "project": project,
        "event": event,
        "job": job,
        "export": export,
        "token": token,
    }


def _fill(template: str, ids: dict[str, int] | None) -> str:
    def pick(kind: str) -> str:
        return str(ids[kind] if ids else MISSING)

    if template.startswith("/v1/calendar/"):
        return template.replace("{id}", pick("event"))
    if template.startswith("/v1/chat/sessions/"):
        return template.replace("{id}", pick("chat"))
    if template.startswith("/v1/images/exports/"):
        return template.replace("{job_id}", pick("export"))
    if template.startswith("/v1/jobs/"):
        return template.replace("{job_id}", pick("job"))
    if template.startswith("/v1/tokens/"):
        return template.replace("{id}", pick("token"))
    return template.replace("{id}", pick("image")).replace("{project}", pick("project"))


async def test_other_teams_ids_are_identical_404s(api: Api) -> None:
    theirs = await _their_ids(api)
    checked = 0
    for route in api.client.app.router.routes():
        template = route.resource.canonical
        op = op_of(route.handler)
        if "{" not in template or op is None or op.public:
            continue
        body = BODIES.get((route.method, template), NO_BODY)
        answers = [
            await api.call(route.method, _fill(template, ids), body) for ids in (theirs, None)
        ]
        for answer in answers:
            assert answer.status == 404, (route.method, template, answer.body)
            assert answer.body == NOT_FOUND, (route.method, template)
        checked += 1
    assert checked >= 20
    # and nothing of theirs changed
    image = await api.image(theirs["image"], team=api.b)
    assert image["deleted_at"] is None and image["share"] is not None
    assert image["title"] is None and image["is_favorite"] is False
    assert theirs["token"] in [t["id"] for t in (await api.get("/v1/tokens", team=api.b)).data]
