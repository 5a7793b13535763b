"""Structured log lines: ``key=value`` pairs, values quoted when they need it."""

from __future__ import annotations

import json
import logging
import sys
import time

from rankion_core.logfmt import kv

__all__ = ["JsonFormatter", "TextFormatter", "configure", "kv", "use_json"]


class TextFormatter(logging.Formatter):
    """``logging.Formatter`` whose time (the default ``2026-12-06 05:24:22,482``) is
    written once per second and its milliseconds added per line: the same text, without
    a ``localtime`` and ``strftime`` for every line of a busy access log."""

    _second: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        if datefmt:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        known, text = self._second
        if known != second:
            text = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = (second, text)
        if self.default_msec_format:
            return self.default_msec_format % (text, record.msecs)
        return text


def configure(level: int | str = logging.INFO) -> None:
    """Log to stderr as ``time level logger key=value...`` (for ``rankion serve``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        TextFormatter("ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    )
    root = logging.getLogger("rankion")
    root.handlers[:] = [handler]
    root.setLevel(level)


class JsonFormatter(logging.Formatter):
    """One JSON object per line (``RANKION_LOG_FORMAT=json``): ``ts``, ``level``,
    ``logger``, ``message``, and the structured fields a record carries in
    ``extra={"fields": {...}}`` (the access log's method, route, status, ms, team,
    request_id) as keys of their own."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def use_json() -> None:
    """Switch the root logger's handlers to JSON (``RANKION_LOG_FORMAT=json``)."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter())
