"""``?q=`` on an index: the stored words and the query expressions for each dialect.

The core's rule (``rankion_core.rules.search``): every query word is the beginning of
some word of the title, prompt or tags. The repository stores those words, lowercased
and deduplicated, in ``images.search_text``; SQLite indexes that column with FTS5 and
PostgreSQL with a GIN index over ``array_to_tsvector`` (the words as lexemes, exactly).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rankion_core.models import Image
from rankion_core.rules.search import words

__all__ = [
    "MAX_WORD",
    "TOP",
    "WORD_BRANCHES",
    "fts5_query",
    "image_search_text",
    "query_words",
    "tsquery",
]

#: a ``q`` word whose prefix matches more stored words of the team (``image_words``)
#: than this is not walked word by word: the prefix is short and its images many
WORD_BRANCHES = 16
#: the largest code point: ``word < prefix + TOP`` bounds the stored words starting
#: with ``prefix`` (no ``\w`` character sorts after it)
TOP = "\U0010ffff"

#: PostgreSQL refuses lexemes over 2047 bytes; longer words (and query words) are cut
#: to this many characters on both dialects, which only matters past that length.
MAX_WORD = 500


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(w[:MAX_WORD] for w in items))


def image_search_text(image: Image) -> str:
    texts: list[str | None] = [image.title, image.prompt, *image.tags]
    return " ".join(_unique(w for text in texts if text for w in words(text)))


def query_words(q: str | None) -> list[str]:
    """The query's words; none means no ``q`` filter (every image matches)."""
    return _unique(words(q)) if q else []


def fts5_query(tokens: Sequence[str]) -> str:
    """``"a"* AND "b"*``: each word a prefix, all required (words hold no quotes)."""
    return " AND ".join(f'"{t}"*' for t in tokens)


def tsquery(tokens: Sequence[str]) -> str:
    """``'a':* & 'b':*``, cast to ``tsquery`` as is (words hold no quotes)."""
    return " & ".join(f"'{t}':*" for t in tokens)
