"""Images straight from Core rows, without the ORM's identity map (issue 10).

Loading a 50-row page through the ORM (identity map, then ``expunge`` of each) cost
more than the query itself. Read-only lists select the mapped columns with Core and
build each ``Image`` as the ORM's own loader does: a new instance of the mapped
class (``ClassManager.new_instance``, no ``__init__``) whose ``__dict__`` is filled
from the row. The result is a transient object, like the detached ones handed out
elsewhere: attribute access and ``values_of`` work on it as on any loaded image.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Column, inspect
from sqlalchemy.engine import Row
from sqlalchemy.orm import configure_mappers

from rankion_core.models import Image

from .tables import images

__all__ = ["IMAGE_COLUMNS", "images_of"]

#: every mapped column of ``images`` but the private search text
IMAGE_COLUMNS: tuple[Column[Any], ...] = tuple(c for c in images.c if c.name != "search_text")
_KEYS = tuple(c.name for c in IMAGE_COLUMNS)


def images_of(rows: Iterable[Row[Any]]) -> list[Image]:
    configure_mappers()  # a no-op once done; sets up the attributes read below
    new = inspect(Image).class_manager.new_instance
    found = []
    for row in rows:
        image = new()
        image.__dict__.update(zip(_KEYS, row, strict=True))
        found.append(image)
    return found
