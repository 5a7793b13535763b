"""The trash lifecycle: listed → trashed → (restored | gone)."""

from __future__ import annotations

from datetime import datetime

from ..errors import Conflict
from ..models import Image
from .limits import TRASH_RETENTION


def soft_delete(image: Image, now: datetime) -> bool:
    """Move to trash; idempotent (a trashed image keeps its dates). True if it moved."""
    if image.deleted_at is not None:
        return False
    image.deleted_at = now
    image.purge_at = now + TRASH_RETENTION
    image.updated_at = now
    return True


def restore(image: Image, now: datetime) -> None:
    if image.deleted_at is None:
        raise Conflict("the image is not in the trash", code="not_in_trash")
    image.deleted_at = None
    image.purge_at = None
    image.updated_at = now


def check_forever(image: Image) -> None:
    """Deleting for good is only allowed from the trash."""
    if image.deleted_at is None:
        raise Conflict("only an image in the trash can be deleted forever", code="not_in_trash")


def purge_due(image: Image, now: datetime) -> bool:
    """In the trash and its time there is up: the purge deletes it for good."""
    return image.purge_at is not None and image.deleted_at is not None and image.purge_at <= now
