"""The OpenAPI 3.1 document, built from the router and each route's ``Op``.

Request bodies and answers come from the same attrs classes the server validates
with and renders through (``jsonschema``), so the document cannot drift from the
code; a route without an ``Op`` is an error, so none can be forgotten.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aiohttp import web

from rankion_api.common import ErrorOut, MetaOut, WarningOut

from .jsonschema import INTEGER as ID
from .jsonschema import Schema, SchemaBuilder
from .limits import WRITES
from .mount import prefix_of
from .operations import Op, Param, op_of

_PATH_PARAM = re.compile(r"\{([^}:]+)[^}]*\}")
_ID_PARAMS = {"id", "project", "job_id"}

ERRORS: dict[int, str] = {
    400: "Malformed JSON or bad UTF-8 (invalid_json); Authorization or Idempotency-Key sent"
    " more than once (bad_request)",
    401: "Missing or unknown bearer token",
    402: "Not enough credits (insufficient_credits)",
    403: "A write made with the session cookie lacks the session's CSRF token (csrf_failed)",
    404: "Absent, or another team's: always the same body",
    409: "The current state forbids it (code says which)",
    413: "The body is larger than 1 MiB",
    422: 'Validation failed; details name each field (at most 20, then {"…": "and N more"})',
    429: "Too many requests",
    503: "Storage, blob store or image provider unavailable",
}

HEADERS: dict[str, Schema] = {
    "X-Request-Id": {"description": "Identifies the request in the server's logs"},
    "Location": {"description": "Where to find (or poll) what was created"},
    "Deprecation": {"description": "true: this route is kept for compatibility only"},
    "Link": {"description": "The successor route"},
    "WWW-Authenticate": {"description": "Bearer"},
    "Retry-After": {"description": "Seconds to wait before trying again"},
    "Idempotent-Replayed": {"description": "true when the answer is a replay"},
    "ETag": {"description": "The answer's entity tag: send it back in If-None-Match"},
}

#: the request header of a conditional GET (``Op.conditional``)
IF_NONE_MATCH = Param(
    "If-None-Match",
    {"type": "string"},
    "ETags of earlier answers (or *): 304 without a body while one still matches",
    where="header",
)
NOT_MODIFIED = "Not modified: If-None-Match names the current ETag (no body)"


def _version() -> str:
    try:
        return version("rankion")
    except PackageNotFoundError:
        return "0.0.0"


def _header_refs(names: tuple[str, ...] | list[str]) -> dict[str, Any]:
    return {n: {"$ref": f"#/components/headers/{n}"} for n in ("X-Request-Id", *names)}


def _components(builder: SchemaBuilder) -> dict[str, Any]:
    error = builder.ref(ErrorOut)
    special = {401: ["WWW-Authenticate"], 429: ["Retry-After"], 503: ["Retry-After"]}
    responses = {
        f"E{status}": {
            "description": text,
            "headers": _header_refs(special.get(status, [])),
            "content": {"application/json": {"schema": error}},
        }
        for status, text in ERRORS.items()
    }
    headers = {name: {**info, "schema": {"type": "string"}} for name, info in HEADERS.items()}
    return {
        "schemas": builder.components,
        "responses": responses,
        "headers": headers,
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    }


def _param(p: Param) -> dict[str, Any]:
    doc: dict[str, Any] = {"name": p.name, "in": p.where, "schema": p.schema}
    if p.description:
        doc["description"] = p.description
    if p.required:
        doc["required"] = True
    if p.schema.get("type") == "array":
        doc["style"], doc["explode"] = "form", True
    return doc


def _params(op: Op) -> tuple[Param, ...]:
    return (*op.params, IF_NONE_MATCH) if op.conditional else op.params


def _path_params(path: str) -> list[dict[str, Any]]:
    """An id of ``/v1`` is 1..2^63-1 as the API reads it; the web app's pages (``/app``)
    answer a signed-out visitor the sign-in page whatever the id, so only ``minimum``."""
    params = []
    id_schema = (
        {**ID, "minimum": 1} if path.startswith("/v1/") else {"type": "integer", "minimum": 1}
    )
    for name in _PATH_PARAM.findall(path):
        schema = id_schema if name in _ID_PARAMS else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _errors(op: Op, path: str, method: str) -> list[int]:
    statuses = set(op.errors)
    if not op.public:
        statuses |= {400, 401}  # 400: Authorization sent more than once
        if method in WRITES:
            statuses.add(429)  # the team's write rate
    if op.body is not None:
        statuses |= {400, 413, 422}
    if path.startswith("/v1/"):
        statuses.add(422)  # a bad or unknown query parameter, a bad Idempotency-Key
    if "{" in path:
        statuses.add(404)
    if op.tag != "ops":
        statuses.add(503)
    return sorted(statuses)


#: one Server-Sent Event, as OpenAPI 3.2 (and schemathesis) describe a stream's items
SSE_EVENT: Schema = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    },
}


def _media_schema(media: str) -> Schema:
    if media == "application/json":
        return {"type": "object"}
    if media == "text/event-stream":
        return SSE_EVENT
    if media.startswith("text/"):
        return {"type": "string"}
    return {"type": "string", "contentMediaType": media}


def _success(op: Op, builder: SchemaBuilder) -> dict[str, Any]:
    headers = (*op.headers, "ETag") if op.conditional else op.headers
    answer: dict[str, Any] = {"description": op.summary, "headers": _header_refs(headers)}
    if op.media is not None:
        answer["content"] = {op.media: {"schema": _media_schema(op.media)}}
        if "event_schema" in op.extra:  # Server-Sent Events: the schema of each `data`
            answer["content"][op.media]["x-event-data"] = builder.ref(op.extra["event_schema"])
        if "other_events" in op.extra:  # and of the other events' `data`, by event name
            answer["content"][op.media]["x-events"] = {
                name: builder.ref(schema) for name, schema in op.extra["other_events"].items()
            }
    elif op.response is not None:
        data = builder.ref(op.response)
        if op.paged or op.listed:
            data = {"type": "array", "items": data}
        properties: dict[str, Any] = {"data": data}
        if op.paged:
            properties["meta"] = builder.ref(MetaOut)
        if op.warns:
            properties["warnings"] = {
                "type": "array",
                "items": builder.ref(WarningOut),
                "description": "what the write did that is allowed but probably not meant "
                "(empty when nothing)",
            }
        envelope = {
            "type": "object",
            "required": list(properties),
            "properties": properties,
            "additionalProperties": False,
        }
        answer["content"] = {"application/json": {"schema": envelope}}
    return answer


def _responses(op: Op, path: str, method: str, builder: SchemaBuilder) -> dict[str, Any]:
    responses: dict[str, Any] = {str(op.status): _success(op, builder)}
    if op.conditional:
        responses["304"] = {"description": NOT_MODIFIED, "headers": _header_refs(["ETag"])}
    if "created_status" in op.extra:
        responses[str(op.extra["created_status"])] = _success(op, builder)
    for status in _errors(op, path, method):
        responses[str(status)] = {"$ref": f"#/components/responses/E{status}"}
    for status, description in op.extra.get("html_answers", {}).items():
        responses[str(status)] = {
            "description": description,
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    if op.media == "text/html" and "{" in path:
        responses["404"] = {
            "description": "The same HTML page whatever the reason",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    return responses


def _operation(op: Op, path: str, method: str, name: str, builder: SchemaBuilder) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": name,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": _path_params(path) + [_param(p) for p in _params(op)],
        "responses": _responses(op, path, method, builder),
    }
    if op.description:
        doc["description"] = op.description
    if op.body is not None:
        doc["requestBody"] = {
            "required": not op.body_optional,
            "content": {"application/json": {"schema": builder.ref(op.body)}},
        }
    if op.public:
        doc["security"] = []
    if op.deprecated:
        doc["deprecated"] = True
    return doc


def build(app: web.Application, server_url: str = "/") -> dict[str, Any]:
    """The whole document for ``app``'s router."""
    builder = SchemaBuilder()
    prefix = prefix_of(app)  # paths as the document's server (the mount) sees them
    paths: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for route in app.router.routes():
        resource = route.resource
        op = op_of(route.handler)
        if resource is None or op is None:
            raise RuntimeError(f"route {route!r} has no @operation: document it")
        name = getattr(route.handler, "__name__", "handler")
        if name in seen:
            raise RuntimeError(f"two routes are both called {name}")
        seen.add(name)
        path = _PATH_PARAM.sub(r"{\1}", resource.canonical.removeprefix(prefix))
        method = route.method
        paths.setdefault(path, {})[method.lower()] = _operation(op, path, method, name, builder)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Rankion Calendar & Images API",
            "version": _version(),
            "description": "Editorial calendar events plus AI image generation, gallery "
            "and edits. Every answer is {data} (lists add meta); every error is "
            "{error: {code, message, details?}}.",
        },
        "servers": [{"url": server_url or "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": _components(builder),
    }
