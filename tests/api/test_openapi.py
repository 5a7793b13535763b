"""The OpenAPI document: valid 3.1, complete, and true to what the server answers."""

from __future__ import annotations

import json
import re
import sys
import unicodedata
from datetime import datetime
from typing import Any

import pytest
from jsonschema.validators import Draft202012Validator
from openapi_spec_validator import validate

from rankion_core.outbound import HTTP_URL_PATTERN, url_problem
from rankion_core.rules.text import NOT_BLANK

from .conftest import Api, relative


@pytest.fixture
async def document(api: Api) -> dict[str, Any]:
    answer = await api.get("/v1/openapi.json", anonymous=True)
    assert answer.status == 200
    return answer.json  # type: ignore[no-any-return]


def _schema_validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """Validate instances against a schema that ``$ref``s into the document's components."""
    root = {**schema, "components": document["components"]}
    return Draft202012Validator(root)


async def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["servers"]


async def test_every_registered_route_is_documented(api: Api, document: dict[str, Any]) -> None:
    import re

    for route in api.client.app.router.routes():
        path = re.sub(r"\{([^}:]+)[^}]*\}", r"{\1}", route.resource.canonical)
        assert path in document["paths"], path
        assert route.method.lower() in document["paths"][path], (route.method, path)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/jobs/{job_id}",
        "/v1/projects",
        "/v1/credits",
        "/v1/credits/ledger",
        "/v1/chat/sessions/{id}",
        "/healthz",
        "/readyz",
        "/s/{token}",
        "/s/{token}/image",
        "/files/{key}",
        "/v1/images/exports/{job_id}",
        "/v1/projects/{project}/calendar",
    ],
)
async def test_named_routes_are_present(document: dict[str, Any], path: str) -> None:
    assert path in document["paths"]


async def test_public_routes_have_no_security(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert paths["/s/{token}"]["get"]["security"] == []
    assert paths["/healthz"]["get"]["security"] == []
    assert "security" not in paths["/v1/images"]["get"]
    assert "401" in paths["/v1/images"]["get"]["responses"]
    assert "401" not in paths["/s/{token}"]["get"]["responses"]


async def test_conditional_gets_document_their_etag_and_304(
    api: Api, document: dict[str, Any]
) -> None:
    image_id = await api.generate()
    page = relative((await api.post(f"/v1/images/{image_id}/share")).data["public_url"])
    live = {
        "/s/{token}": page,
        "/s/{token}/image": page + "/image",
        "/files/{key}": relative((await api.image(image_id))["url"]),
    }
    for template, path in live.items():
        etag = (await api.get(path, anonymous=True)).headers["ETag"]
        again = await api.get(path, anonymous=True, headers={"If-None-Match": etag})
        assert again.status == 304 and again.headers["ETag"] == etag, template
        op = document["paths"][template]["get"]
        assert "ETag" in op["responses"]["200"]["headers"], template
        assert "ETag" in op["responses"]["304"]["headers"], template
        assert "content" not in op["responses"]["304"], template
        header = [p for p in op["parameters"] if p["name"] == "If-None-Match"]
        assert header and header[0]["in"] == "header", template
    assert "304" not in document["paths"]["/v1/images/{id}"]["get"]["responses"]


async def test_bodies_come_from_the_request_classes(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    generate = schemas["GenerateImageBody"]
    assert generate["required"] == ["prompt"]
    assert generate["additionalProperties"] is False
    assert generate["properties"]["prompt"]["maxLength"] == 32_000
    update = schemas["UpdateEventBody"]
    assert "required" not in update
    assert update["properties"]["scheduled_at"]["type"] == ["string", "null"]
    op = document["paths"]["/v1/generate/image"]["post"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/GenerateImageBody"
    }
    assert {"400", "401", "402", "413", "422", "202"} <= set(op["responses"])
    assert any(p["name"] == "Idempotency-Key" for p in op["parameters"])


async def test_lists_document_their_query_parameters(document: dict[str, Any]) -> None:
    names = {p["name"] for p in document["paths"]["/v1/images"]["get"]["parameters"]}
    assert {"q", "model", "from", "to", "favorite", "tags[]", "project_id", "status"} <= names
    assert {"sort", "page", "per_page"} <= names
    legacy = document["paths"]["/v1/projects/{project}/images"]["get"]
    assert legacy["deprecated"] is True


async def test_answers_match_their_documented_schemas(api: Api, document: dict[str, Any]) -> None:
    """The renderers and the documented response shapes are the same classes: check it."""
    image_id = await api.generate(title="doc", tags=["x"])
    await api.post(f"/v1/images/{image_id}/share")
    await api.edit(image_id)
    await api.run_jobs()
    project = await api.project()
    checks = [
        ("/v1/images/{id}", f"/v1/images/{image_id}"),
        ("/v1/images", "/v1/images"),
        ("/v1/projects", "/v1/projects"),
        ("/v1/credits/ledger", "/v1/credits/ledger"),
        ("/v1/jobs/{job_id}", "/v1/jobs/1"),
        ("/v1/projects/{project}/calendar", f"/v1/projects/{project}/calendar"),
    ]
    for template, path in checks:
        answer = await api.get(path)
        assert answer.status == 200, path
        schema = document["paths"][template]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["schema"]
        _schema_validator(document, schema).validate(answer.json)


async def test_error_answers_match_the_error_schema(api: Api, document: dict[str, Any]) -> None:
    schema = {"$ref": "#/components/schemas/Error"}
    validator = _schema_validator(document, schema)
    for answer in (
        await api.get("/v1/images/999"),
        await api.post("/v1/projects", {"bogus": 1}),
        await api.get("/v1/images", anonymous=True),
    ):
        validator.validate(answer.json)


async def test_the_document_states_what_the_server_enforces(
    api: Api, document: dict[str, Any]
) -> None:
    """Each constraint is in the document, and the server answers as it says."""
    schemas = document["components"]["schemas"]
    (item_id,) = [
        p["schema"]
        for p in document["paths"]["/v1/images/{id}"]["get"]["parameters"]
        if p["name"] == "id"
    ]
    assert (item_id["minimum"], item_id["maximum"]) == (1, 2**63 - 1)
    ids = schemas["BulkIdsBody"]["properties"]["ids"]["items"]
    assert (ids["minimum"], ids["maximum"]) == (1, 2**63 - 1)  # items keywords add to int's
    too_big = await api.post("/v1/images/bulk/delete", {"ids": [2**63]})
    assert too_big.status == 422
    zones = schemas["CreateProjectBody"]["properties"]["time_zone"]["enum"]
    assert "Europe/Berlin" in zones and "localtime" not in zones
    assert (await api.post("/v1/projects", {"name": "x", "time_zone": "Mars/Base"})).status == 422
    assert schemas["ShiftBody"]["properties"]["days"]["not"] == {"const": 0}

    blank = "\u2003\x1f"  # white space to str.strip, so blank
    title = schemas["CreateEventBody"]["properties"]["title"]
    assert re.search(title["pattern"], blank) is None
    project = await api.project()
    answer = await api.post(f"/v1/projects/{project}/calendar", {"title": blank, "status": "idea"})
    assert answer.status == 422
    url = schemas["CreateWebhookBody"]["properties"]["url"]
    for bad in ("", "ftp://example.com/", "http://", "http://user@example.com/", "http://a b/"):
        assert re.search(url["pattern"], bad) is None, bad
        sent = await api.post("/v1/webhooks", {"url": bad, "events": ["image.ready"]})
        assert sent.status == 422, bad
    assert re.search(url["pattern"], "HTTPS://hooks.example.com/in?x=1")


@pytest.mark.parametrize("zone", ["Australia/Sydney", "America/New_York", "Asia/Tokyo"])
async def test_scheduled_local_is_rfc3339_at_any_date(api: Api, zone: str) -> None:
    """Local mean time (+10:04:52 in Sydney before 1895) is written to the minute; the
    first hours of year 1 west of UTC, and the last of 9999 east of it, in UTC."""
    made = await api.post("/v1/projects", {"name": "Old", "time_zone": zone})
    project = made.data["id"]
    for at in ("0001-01-01T00:00:00Z", "0167-05-24T08:16:36Z", "9999-12-31T23:00:00Z"):
        answer = await api.post(
            f"/v1/projects/{project}/calendar", {"title": "Old", "scheduled_at": at}
        )
        assert answer.status == 201, answer.body
        local = datetime.fromisoformat(answer.data["scheduled_local"])
        assert re.fullmatch(r".*[+-]\d\d:\d\d", answer.data["scheduled_local"]), local
        assert local == datetime.fromisoformat(at)  # the same instant


async def test_the_generation_options_and_models_are_documented(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]

    def keyword(schema: dict[str, Any], name: str) -> Any:
        """``name`` of a nullable property (``anyOf`` with ``null``)."""
        return next(s[name] for s in schema.get("anyOf", [schema]) if name in s)

    generate = schemas["GenerateImageBody"]["properties"]
    assert (keyword(generate["n"], "minimum"), keyword(generate["n"], "maximum")) == (1, 4)
    assert keyword(generate["output_compression"], "maximum") == 100
    assert keyword(generate["moderation"], "enum") == ["auto", "low"]
    assert keyword(generate["partial_images"], "maximum") == 3
    edit = schemas["EditImageBody"]["properties"]
    assert keyword(edit["input_fidelity"], "enum") == ["high", "low"]
    assert "images" in schemas["Queued"]["properties"]
    listed = document["paths"]["/v1/models"]["get"]["responses"]["200"]
    data = listed["content"]["application/json"]["schema"]["properties"]["data"]
    assert data["type"] == "array"
    model = schemas["Model"]
    assert {"id", "sizes", "max_n", "partial_images", "input_fidelity"} <= set(model["required"])


async def test_models_answers_match_the_documented_schema(
    api: Api, document: dict[str, Any]
) -> None:
    answer = await api.get("/v1/models")
    schema = document["paths"]["/v1/models"]["get"]["responses"]["200"]["content"]
    _schema_validator(document, schema["application/json"]["schema"]).validate(answer.json)


async def test_the_preview_event_is_documented(document: dict[str, Any]) -> None:
    answer = document["paths"]["/v1/jobs/{job_id}/events"]["get"]["responses"]["200"]
    media = answer["content"]["text/event-stream"]
    assert media["x-events"]["preview"] == {"$ref": "#/components/schemas/PreviewEvent"}
    preview = document["components"]["schemas"]["PreviewEvent"]
    assert set(preview["required"]) == {"index", "url"}


async def test_output_compression_needs_a_compressible_format_in_the_document_too(
    api: Api, document: dict[str, Any]
) -> None:
    """png (the default format) has no compression level: the schema says so, and the
    server answers as the schema does."""
    schema = {"$ref": "#/components/schemas/GenerateImageBody"}
    validator = _schema_validator(document, schema)
    cases = [
        ({"prompt": "x", "output_compression": 50}, False),
        ({"prompt": "x", "output_compression": 50, "output_format": "png"}, False),
        ({"prompt": "x", "output_compression": 50, "output_format": None}, False),
        ({"prompt": "x", "output_compression": 50, "output_format": "webp"}, True),
        ({"prompt": "x", "output_compression": None}, True),
        ({"prompt": "x", "output_format": "png"}, True),
    ]
    for body, valid in cases:
        assert validator.is_valid(body) is valid, body
        answer = await api.post("/v1/generate/image", body)
        assert answer.status == (202 if valid else 422), (body, answer.body)


async def test_rules_no_schema_holds_are_in_the_operations_descriptions(
    document: dict[str, Any],
) -> None:
    """A schema-valid request the server refuses is refused for a reason its operation
    states (the fuzz run's "schema-valid request rejected" cases)."""
    paths = document["paths"]

    def described(path: str, method: str) -> str:
        operation = paths[path][method]
        return " ".join([operation.get("description", ""), json.dumps(operation)])

    calendar = "/v1/projects/{project}/calendar"
    for path, method in ((calendar, "get"), (f"{calendar}/days", "get")):
        assert "from after to" in described(path, method), path
    assert "from after to" in described(f"{calendar}/shift", "post")
    assert "366 days" in described(f"{calendar}/days", "get")
    for path in ("/v1/images", "/v1/projects/{project}/images"):
        assert "after to: 422" in described(path, "get"), path
    session = document["components"]["schemas"]["EditImageBody"]["properties"]["edit_session_id"]
    assert "another variant tree is 422" in session["description"]
    for method in ("post", "patch"):
        assert "not in the future is 422" in described("/v1/images/{id}/share", method)
    webhooks = described("/v1/webhooks", "post")
    assert "private, loopback or link-local" in webhooks and "webhook-signature" in webhooks
    assert "idempotency_key_reused" in described("/v1/generate/image", "post")
    assert "whether or not the project had" in described(f"{calendar}/feed-token", "delete")


def test_patterns_read_alike_in_json_schema_and_in_the_server() -> None:
    """A JSON Schema pattern is ECMA-262 (jsonschema_rs reads it so, as the fuzzer does),
    whose ``\\s`` is not Python's: "not blank" and the URL's "no white space" are spelled
    out, so that a value matches the document exactly when the server takes it."""
    ecma = pytest.importorskip("jsonschema_rs")
    not_blank = ecma.validator_for({"type": "string", "pattern": NOT_BLANK})
    url = ecma.validator_for({"type": "string", "pattern": HTTP_URL_PATTERN})
    spaces = []
    for point in range(sys.maxunicode + 1):
        if 0xD800 <= point <= 0xDFFF:  # surrogates are no text
            continue
        char = chr(point)
        assert not_blank.is_valid(f" {char} ") == bool(char.strip()), hex(point)
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf", "Zs"):
            spaces.append(char)
    assert "\x1f" in spaces and "\ufeff" in spaces
    for char in spaces:
        sent = f"https://hooks.example.com/in{char}x"
        assert url.is_valid(sent) == (url_problem(sent, allow_private=True) is None), hex(ord(char))
