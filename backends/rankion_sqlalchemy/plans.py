"""SQLite's plan for lists with match filters (tags, ``q``), chosen per query.

SQLite rarely has statistics in an embedded database, and even with them it cannot
tell a tag on ten images from one on half of them. Both plans use indexes; which is
cheaper depends on how many rows match:

* ``drive``: read the matching ids from the tag index / FTS5, look each row up, sort
  them. Cost grows with the number of matches: best for rare tags and words.
* ``probe``: walk the team's index in the wanted order and test each row (a primary
  key lookup in ``image_tags``, or membership in the FTS5 matches) until the page is
  full. Cost grows with ``page size / share of rows matching``: best for common ones.

So the smallest matching set is counted first (capped at ``DRIVE_LIMIT``, an index
range read) and decides. The total is always counted by driving (it must visit every
match either way, and driving never walks non-matching rows).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.sql import Select

from rankion_core.ports import ImageQuery

from .queries import Plan, tag_keys, tag_matches, text_matches
from .search import query_words
from .session import Session

__all__ = ["DRIVE_LIMIT", "choose_plan"]

#: Up to this many matches, sorting them beats walking the team in order.
DRIVE_LIMIT = 3000


def _capped_counts(query: ImageQuery) -> list[Select[int]]:
    cap = DRIVE_LIMIT + 1
    capped = [tag_matches(query.team_id, key).limit(cap).subquery() for key in tag_keys(query)]
    words = query_words(query.q)
    if words:
        capped.append(text_matches(words, cap).subquery())
    return [select(func.count()).select_from(sub) for sub in capped]


async def choose_plan(session: Session, query: ImageQuery, dialect: str) -> Plan:
    if dialect != "sqlite":
        return "default"
    counts = [int(await session.scalar(stmt) or 0) for stmt in _capped_counts(query)]
    if not counts:
        return "default"
    return "drive" if min(counts) <= DRIVE_LIMIT else "probe"
