"""``RANKION_LOG_FORMAT=json``: the access line as one JSON object with its fields."""

from __future__ import annotations

import io
import json
import logging

from rankion_server.logs import JsonFormatter, use_json_if_asked

from .conftest import Api


async def test_the_access_line_carries_its_fields_in_json(api: Api) -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("rankion.access")
    access.addHandler(handler)
    old_level = access.level
    access.setLevel(logging.INFO)
    try:
        answer = await api.get("/v1/images/424242", headers={"X-Request-Id": "trace-12345678"})
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    assert answer.headers["X-Request-Id"] == "trace-12345678"
    entry = json.loads(out.getvalue().strip().splitlines()[-1])
    assert entry["logger"] == "rankion.access"
    assert entry["route"] == "/v1/images/{id}"
    assert entry["status"] == 404
    assert entry["team"] == api.a.id
    assert entry["request_id"] == "trace-12345678"
    assert "424242" not in out.getvalue()  # the template, never the raw path


def test_only_the_json_setting_switches_the_format() -> None:
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    before = {h: h.formatter for h in root.handlers}
    try:
        assert use_json_if_asked({}) is False
        assert not isinstance(handler.formatter, JsonFormatter)
        assert use_json_if_asked({"RANKION_LOG_FORMAT": "JSON"}) is True
        assert isinstance(handler.formatter, JsonFormatter)
    finally:
        for each, formatter in before.items():
            each.setFormatter(formatter)
        root.removeHandler(handler)
