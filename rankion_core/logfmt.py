"""Log lines as ``key=value`` pairs, values quoted when they need it.

The one spelling of a structured log line, used by the core (job lifecycle) and the
server (access log). A record also carries its fields as ``extra={"fields": {...}}``,
so a JSON formatter can write them as keys of their own.
"""

from __future__ import annotations

import re

__all__ = ["kv"]

#: what makes a value quoted: white space, a quote or an equals sign would split it
_QUOTED = re.compile(r'[ "=\n\t]')


def _value(value: object) -> str:
    text = value if type(value) is str else str(value)
    if not text or _QUOTED.search(text):
        escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    return text


def kv(**fields: object) -> str:
    """``method=GET route=/v1/images/{id} status=200``: one greppable line."""
    return " ".join([f"{key}={_value(value)}" for key, value in fields.items()])
