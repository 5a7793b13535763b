"""What ``?q=`` means, so every backend agrees.

The query is split into words; an image matches when every word is the beginning of
some word of its title, prompt or tags, case-insensitively. That is what SQLite FTS5
(``"word"*``) and PostgreSQL full-text (``word:*``) answer from an index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def matches(query_words: Iterable[str], texts: Iterable[str | None]) -> bool:
    haystack = [w for text in texts if text for w in words(text)]
    return all(any(h.startswith(q) for h in haystack) for q in query_words)
