"""Cheap exact totals for image lists.

An unfiltered list (the team's non-trashed images in any order) reads its total from
``image_counts``, which triggers keep equal to ``COUNT(*)`` of those rows (migration
``0004_image_counts``). Any filter falls back to counting the matching rows.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.sql import Select

from rankion_core.ports import ImageQuery
from rankion_core.reads import active_filters

from .tables import image_counts

__all__ = ["live_count", "unfiltered"]


def unfiltered(query: ImageQuery) -> bool:
    """Whether ``query`` matches every non-trashed image of its team."""
    return not active_filters(query)


def live_count(team_id: int) -> Select[tuple[int]]:
    """The team's maintained count of non-trashed images (no row: none yet)."""
    return select(image_counts.c.live).where(image_counts.c.team_id == team_id)
