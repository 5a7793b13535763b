"""What ``?q=`` means, so every backend agrees.

The query is split into words; an image matches when every word is the beginning of
some word of its title, prompt or tags, case-insensitively. That is what SQLite FTS5
(``"word"*``) and PostgreSQL full-text (``word:*``) answer from an index.

A word is a run of letters, digits and ``_``; anything else only separates words. A
``q`` that holds text but no word at all (``🚀``, ``%``, ``!!!``) matches no image
(``finds_nothing``): a search never answers with the whole gallery. A blank ``q`` is
no search.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"\w+")


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def finds_nothing(q: str | None) -> bool:
    """``q`` holds something other than blanks, but no word: no image matches it."""
    return q is not None and bool(q.strip()) and not words(q)


def matches(query_words: Iterable[str], texts: Iterable[str | None]) -> bool:
    haystack = [w for text in texts if text for w in words(text)]
    return all(any(h.startswith(q) for h in haystack) for q in query_words)
