"""Log lines as ``key=value`` pairs, values quoted when they need it.

The one spelling of a structured log line, used by the core (job lifecycle) and the
server (access log). A record also carries its fields as ``extra={"fields": {...}}``,
so a JSON formatter can write them as keys of their own.
"""

from __future__ import annotations

__all__ = ["kv"]


def _value(value: object) -> str:
    text = str(value)
    if not text or any(c in text for c in ' "=\n\t'):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return text


def kv(**fields: object) -> str:
    """``method=GET route=/v1/images/{id} status=200``: one greppable line."""
    return " ".join(f"{key}={_value(value)}" for key, value in fields.items())
