"""Blob keys: made here, never taken from a user.

A key is ``{kind}/{yyyy}/{mm}/{uuid4 hex}.{ext}``. Because the store only ever hands
out keys of that exact shape, any other string (``../x``, ``/etc/passwd``, a
backslash) cannot name a blob: readers treat it as missing instead of letting it
reach a filesystem path.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import TypeGuard

from rankion_core.errors import Invalid, NotFound

__all__ = ["is_key", "new_key", "require_key"]

_KIND = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_EXT = re.compile(r"[a-z0-9]{1,8}")
_KEY = re.compile(r"[a-z][a-z0-9_-]{0,31}/[0-9]{4}/(?:0[1-9]|1[0-2])/[0-9a-f]{32}\.[a-z0-9]{1,8}")


def new_key(kind: str, ext: str, now: datetime) -> str:
    """A fresh key for a blob of ``kind`` with extension ``ext``, dated by ``now``."""
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise Invalid("invalid blob kind", details={"kind": "must match [a-z][a-z0-9_-]{0,31}"})
    if not isinstance(ext, str) or not _EXT.fullmatch(ext):
        raise Invalid("invalid blob extension", details={"ext": "must match [a-z0-9]{1,8}"})
    return f"{kind}/{now.year:04d}/{now.month:02d}/{uuid.uuid4().hex}.{ext}"


def is_key(key: object) -> TypeGuard[str]:
    """Whether ``key`` has the shape of a key this store could have made."""
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def require_key(key: object) -> str:
    """``key`` itself, or ``NotFound``: a key the store could not have made does not exist."""
    if not is_key(key):
        raise NotFound("blob")
    return key
