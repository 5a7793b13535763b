"""``RANKION_LOG_FORMAT=json``: the access line as one JSON object with its fields."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from rankion_server.config import ServerConfig
from rankion_server.logs import JsonFormatter, TextFormatter, use_json
from rankion_server.settings import SettingError

from .conftest import Api


@contextlib.contextmanager
def access_lines() -> Iterator[list[dict[str, Any]]]:
    """The access log's entries (as JSON objects) written inside the block."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("rankion.access")
    access.addHandler(handler)
    old_level = access.level
    access.setLevel(logging.INFO)
    entries: list[dict[str, Any]] = []
    try:
        yield entries
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
        entries.extend(json.loads(line) for line in out.getvalue().splitlines())


async def test_the_access_line_carries_its_fields_in_json(api: Api) -> None:
    with access_lines() as entries:
        answer = await api.get("/v1/images/424242", headers={"X-Request-Id": "trace-12345678"})
        await api.get("/v1/images?q=secret-words")
    assert answer.headers["X-Request-Id"] == "trace-12345678"
    entry, listing = entries[-2:]
    assert listing["path"] == "/v1/images" and listing["status"] == 200
    assert entry["logger"] == "rankion.access"
    assert entry["path"] == "/v1/images/424242"  # as requested
    assert entry["route"] == "/v1/images/{id}"
    assert entry["status"] == 404
    assert entry["team"] == api.a.id
    assert entry["request_id"] == "trace-12345678"
    assert "secret-words" not in json.dumps(entries)  # never the query string


async def test_unknown_paths_are_logged_and_share_tokens_are_not(api: Api) -> None:
    image = await api.generate()
    token = (await api.post(f"/v1/images/{image}/share")).data["token"]
    with access_lines() as entries:
        await api.get("/v1/no/such/thing")
        await api.get(f"/s/{token}/image")
        await api.get("/v1/images/" + "9" * 500)
    unknown, shared, long = entries[-3:]
    assert (unknown["path"], unknown["route"], unknown["status"]) == ("/v1/no/such/thing", "-", 404)
    assert shared["path"] == "/s/…/image" and shared["route"] == "/s/{token}/image"
    assert token not in json.dumps(entries)
    assert len(long["path"]) == 200 and long["path"].endswith("…")


def log_format(env: dict[str, str]) -> str:
    return ServerConfig.from_env(env, database="memory://", blobs="memory://x").log_format


def test_only_the_json_setting_switches_the_format() -> None:
    assert log_format({}) == "text"
    assert log_format({"RANKION_LOG_FORMAT": " JSON "}) == "json"
    with pytest.raises(SettingError, match="RANKION_LOG_FORMAT must be one of text, json"):
        log_format({"RANKION_LOG_FORMAT": "xml"})
    root = logging.getLogger()
    handler = logging.StreamHandler(io.StringIO())
    root.addHandler(handler)
    before = {h: h.formatter for h in root.handlers}
    try:
        use_json()
        assert isinstance(handler.formatter, JsonFormatter)
    finally:
        for each, formatter in before.items():
            each.setFormatter(formatter)
        root.removeHandler(handler)


def test_the_text_format_writes_the_time_as_logging_does() -> None:
    """``TextFormatter`` keeps each second's text: the lines are those of
    ``logging.Formatter``, within a second, across seconds and back in time."""
    shape = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    plain, kept = logging.Formatter(shape), TextFormatter(shape)
    start = 1_796_000_000.0
    moments = [start + step * 0.137 for step in range(40)] + [start - 86_400.5, start + 0.999]
    for moment in moments:
        record = logging.makeLogRecord({"name": "rankion.access", "msg": "status=200"})
        record.created, record.msecs = moment, (moment - int(moment)) * 1000
        assert kept.format(record) == plain.format(record)
    dated = logging.makeLogRecord({"msg": "x"})
    assert TextFormatter("%(asctime)s", "%H:%M").format(dated) == logging.Formatter(
        "%(asctime)s", "%H:%M"
    ).format(dated)
