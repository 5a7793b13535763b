"""Cheap exact totals for image lists.

An unfiltered list (the team's non-trashed images in any order) reads its total from
``image_counts``, which triggers keep equal to ``COUNT(*)`` of those rows (migration
``0004_image_counts``). Any filter falls back to counting the matching rows.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.sql import Select

from rankion_core.ports import ImageQuery

from .search import query_words
from .tables import image_counts

__all__ = ["live_count", "unfiltered"]


def unfiltered(query: ImageQuery) -> bool:
    """Whether ``query`` matches every non-trashed image of its team."""
    return (
        query.model is None
        and query.created_from is None
        and query.created_to is None
        and query.favorite is None
        and query.project_id is None
        and not query.statuses
        and not query.tags
        and not query_words(query.q)
    )


def live_count(team_id: int) -> Select[tuple[int]]:
    """The team's maintained count of non-trashed images (no row: none yet)."""
    return select(image_counts.c.live).where(image_counts.c.team_id == team_id)
