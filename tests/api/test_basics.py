"""Conventions every route shares: envelopes, request ids, auth, routing errors, bodies."""

from __future__ import annotations

import re

import pytest

from rankion_server.operations import op_of

from .conftest import Api

NOT_FOUND = b'{"error":{"code":"not_found","message":"not found"}}'


def not_found(kind: str) -> bytes:
    return b'{"error":{"code":"not_found","message":"%s not found"}}' % kind.encode()


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


async def test_every_private_route_needs_a_token(api: Api) -> None:
    routes = [r for r in api.client.app.router.routes() if r.resource is not None]
    private = [r for r in routes if not op_of(r.handler).public]  # type: ignore[union-attr]
    assert len(private) > 25
    for route in private:
        path = _concrete(route.resource.canonical)
        for headers in ({}, {"Authorization": "Bearer rk_0123456789abcdef_nope"}):
            answer = await api.call(route.method, path, anonymous=True, headers=headers)
            assert answer.status == 401, (route.method, path, answer.body)
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            assert answer.error["code"] == "unauthorized"


@pytest.mark.parametrize(
    "header", ["", "Basic abc", "Bearer", "Bearer ", "bearer nonsense", "Bearer é"]
)
async def test_malformed_authorization_is_401(api: Api, header: str) -> None:
    answer = await api.get("/v1/credits", anonymous=True, headers={"Authorization": header})
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"


async def test_scheme_is_case_insensitive(api: Api) -> None:
    headers = {"Authorization": "bearer " + api.a.token}
    assert (await api.get("/v1/credits", anonymous=True, headers=headers)).status == 200


async def test_public_routes_need_no_token(api: Api) -> None:
    for path in ("/healthz", "/readyz", "/v1/openapi.json", "/docs"):
        answer = await api.get(path, anonymous=True)
        assert answer.status == 200, path


async def test_unknown_path_is_404_with_or_without_token(api: Api) -> None:
    with_token = await api.get("/v1/nothing-here")
    without = await api.get("/v1/nothing-here", anonymous=True)
    assert with_token.status == without.status == 404
    assert with_token.body == without.body == NOT_FOUND


@pytest.mark.parametrize("bad", ["abc", "0", "-1", "1.5", "01x", "9" * 30, "9" * 19])
async def test_bad_ids_answer_the_404_of_a_missing_one(api: Api, bad: str) -> None:
    for path, kind in (("images", "image"), ("calendar", "event"), ("jobs", "job")):
        answer = await api.get(f"/v1/{path}/{bad}")
        missing = await api.get(f"/v1/{path}/987654321")
        assert answer.status == missing.status == 404
        assert answer.body == missing.body == not_found(kind)


async def test_404_names_the_kind_and_never_the_id(api: Api) -> None:
    project = await api.get("/v1/projects/424242/calendar")
    assert project.body == not_found("project")
    export = await api.get("/v1/images/exports/424242")
    assert export.body == not_found("export")
    assert b"424242" not in project.body + export.body


async def test_405_uses_the_envelope(api: Api) -> None:
    answer = await api.call("PUT", "/v1/images/1")
    assert answer.status == 405
    assert answer.error["code"] == "method_not_allowed"
    assert "PATCH" in answer.headers["Allow"]
    assert "X-Request-Id" in answer.headers


async def test_request_id_on_every_answer_never_in_the_body(api: Api) -> None:
    answers = [
        await api.get("/healthz", anonymous=True),
        await api.get("/v1/images"),
        await api.get("/v1/images/999"),
        await api.get("/v1/credits", anonymous=True),
        await api.call("PUT", "/v1/images/1"),
        await api.post("/v1/projects", raw=b"{nope"),
        await api.get("/s/unknown-token-0123456789", anonymous=True),
    ]
    ids = [a.headers["X-Request-Id"] for a in answers]
    assert len(set(ids)) == len(ids)
    for answer, request_id in zip(answers, ids, strict=True):
        assert request_id.encode() not in answer.body


async def test_a_sane_incoming_request_id_is_kept(api: Api) -> None:
    answer = await api.get("/healthz", headers={"X-Request-Id": "trace-1234abcd"})
    assert answer.headers["X-Request-Id"] == "trace-1234abcd"
    weird = await api.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert weird.headers["X-Request-Id"] != "bad id with spaces"


async def test_body_over_one_mebibyte_is_413(api: Api) -> None:
    big = b'{"name": "' + b"x" * (1 << 20) + b'"}'
    answer = await api.post("/v1/projects", raw=big)
    assert answer.status == 413
    assert answer.error["code"] == "payload_too_large"
    assert "X-Request-Id" in answer.headers


@pytest.mark.parametrize(
    "raw",
    [
        b"{nope",
        b'{"name": "x",}',
        b'{"name": "\xff\xfe"}',
        b"\xff",
        # a number past a double, in a body that is not JSON for another reason
        b'{"name": 1e400',
        b'{"name": "x", "a": 1e400, "b": NaN}',
        b'{"a": 1e400}}',
        b'{"a": 1e400, "b": "\xff"}',
    ],
)
async def test_malformed_json_or_utf8_is_400(api: Api, raw: bytes) -> None:
    answer = await api.post("/v1/projects", raw=raw)
    assert answer.status == 400
    assert answer.error["code"] == "invalid_json"


HUGE = [b"1e400", b"-1E+400", b"9" * 4301, b"-" + b"9" * 4301, b"1" + b"0" * 400 + b".5"]


@pytest.mark.parametrize("number", HUGE, ids=["1e400", "-1E+400", "4301-digits", "neg", "frac"])
async def test_a_number_past_a_double_is_422_naming_its_field(api: Api, number: bytes) -> None:
    project = await api.project()
    raw = b'{"title": "t", "status": "idea", "article_id": ' + number + b"}"
    answer = await api.post(f"/v1/projects/{project}/calendar", raw=raw)
    assert answer.status == 422, answer.body
    assert answer.error["code"] == "validation_error"
    assert answer.error["details"] == {"article_id": "is out of range"}
    assert answer.error["message"] == "article_id: is out of range"


async def test_every_field_of_a_body_with_a_huge_number_is_named(api: Api) -> None:
    answer = await api.post("/v1/images/bulk/delete", raw=b'{"ids": [1, 1e400, 2e999]}')
    assert answer.status == 422, answer.body
    assert answer.error["details"] == {"ids[1]": "is out of range", "ids[2]": "is out of range"}
    answer = await api.post("/v1/projects", raw=b'{"name": 1e400, "time_zone": 5}')
    assert answer.status == 422, answer.body
    assert answer.error["details"] == {"name": "must be a string", "time_zone": "must be a string"}
    answer = await api.post("/v1/projects", raw=b'{"name": "x", "zone": 1e400}')
    assert answer.status == 422, answer.body
    assert answer.error["details"] == {"zone": "unknown field"}
    not_object = await api.post("/v1/projects", raw=b"[1e400]")
    assert not_object.status == 422 and not_object.error["details"] == {"body": "not a JSON object"}


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42", b"null"])
async def test_a_body_that_is_not_an_object_is_422(api: Api, raw: bytes) -> None:
    answer = await api.post("/v1/projects", raw=raw)
    assert answer.status == 422
    assert answer.error["details"] == {"body": "not a JSON object"}


async def test_a_required_body_may_not_be_empty(api: Api) -> None:
    answer = await api.post("/v1/projects")
    assert answer.status == 422
    assert answer.error["details"] == {"body": "missing"}


async def test_unknown_fields_are_named(api: Api) -> None:
    answer = await api.post("/v1/projects", {"name": "x", "team_id": 2, "owner": "me"})
    assert answer.status == 422
    assert answer.error["details"] == {"team_id": "unknown field", "owner": "unknown field"}
    assert "team_id" in answer.error["message"]


async def test_wrong_types_and_missing_fields_are_named(api: Api) -> None:
    answer = await api.post("/v1/generate/image", {"size": 5, "tags": "a,b"})
    assert answer.status == 422
    assert answer.error["details"] == {
        "prompt": "required field missing",
        "size": "must be a string",
        "tags": "must be an array",
    }


async def test_an_unexpected_error_is_a_generic_500(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    async def boom(*args: object, **kwargs: object) -> int:
        raise RuntimeError("secret internals /etc/passwd")

    api.rankion.accounts.balance = boom  # type: ignore[method-assign]
    answer = await api.get("/v1/credits")
    assert answer.status == 500
    assert answer.error == {"code": "internal_error", "message": "something went wrong on our side"}
    assert b"secret" not in answer.body and b"Traceback" not in answer.body
    assert "X-Request-Id" in answer.headers
    assert any("unhandled" in r.getMessage() for r in caplog.records)


async def test_storage_down_is_503(api: Api) -> None:
    from rankion_core.errors import Unavailable

    async def down(*args: object, **kwargs: object) -> int:
        raise Unavailable("the database is unreachable")

    api.rankion.accounts.balance = down  # type: ignore[method-assign]
    answer = await api.get("/v1/credits")
    assert answer.status == 503
    assert answer.error["code"] == "unavailable"


async def test_access_log_has_route_template_path_and_no_token(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="rankion.access")
    await api.get("/v1/images/12345")
    await api.get("/v1/images?q=secret-search")
    lines = [r.getMessage() for r in caplog.records if r.name == "rankion.access"]
    line = next(line for line in lines if "route=/v1/images/{id}" in line)
    assert "status=404" in line and "method=GET" in line and f"team={api.a.id}" in line
    assert "path=/v1/images/12345" in line
    assert "secret-search" not in line
    assert all(api.a.token not in text for text in lines)


async def test_healthz_and_readyz(api: Api) -> None:
    assert (await api.get("/healthz", anonymous=True)).data == {"status": "ok"}
    ready = await api.get("/readyz", anonymous=True)
    assert ready.data == {"status": "ready", "checks": {"storage": "ok", "blobs": "ok"}}


async def test_readyz_is_503_when_a_backend_is_down(api: Api) -> None:
    from rankion_core.errors import Unavailable

    async def down() -> None:
        raise Unavailable("gone")

    api.rankion.deps.blobs.ping = down  # type: ignore[method-assign]
    answer = await api.get("/readyz", anonymous=True)
    assert answer.status == 503
    assert answer.error["details"] == {"storage": "ok", "blobs": "unavailable"}


async def test_docs_page_links_the_document(api: Api) -> None:
    answer = await api.get("/docs", anonymous=True)
    assert answer.headers["Content-Type"].startswith("text/html")
    assert b'href="v1/openapi.json"' in answer.body  # relative: a mount's prefix is kept


async def test_token_lookups_are_cached_briefly(api: Api) -> None:
    calls = 0
    real = api.rankion.accounts.authenticate

    async def counting(secret: str):  # type: ignore[no-untyped-def]
        nonlocal calls
        calls += 1
        return await real(secret)

    api.rankion.accounts.authenticate = counting  # type: ignore[method-assign]
    for _ in range(3):
        assert (await api.get("/v1/credits", team=api.b)).status == 200
    assert calls == 1


async def test_rate_limited_is_429_with_retry_after(api: Api) -> None:
    from rankion_core.errors import RateLimited

    async def limited(*args: object, **kwargs: object) -> int:
        raise RateLimited("slow down", retry_after=7)

    api.rankion.accounts.balance = limited  # type: ignore[method-assign]
    answer = await api.get("/v1/credits")
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.error == {
        "code": "rate_limited",
        "message": "slow down",
        "details": {"retry_after": 7},
    }
