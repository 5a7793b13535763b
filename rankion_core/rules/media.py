"""What a blob is, told from its key: the content type by extension, and the entity
tag of bytes that never change once written (a key names one version for good)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

__all__ = ["CONTENT_TYPES", "content_type_of", "etag_of"]

CONTENT_TYPES: Mapping[str, str] = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "avif": "image/avif",
    "gif": "image/gif",
    "zip": "application/zip",
    "json": "application/json",
}


def content_type_of(key: str) -> str:
    """The content type of a blob key by its extension (``application/octet-stream``
    for one it does not know)."""
    ext = key.rsplit(".", 1)[-1].lower() if "." in key else ""
    return CONTENT_TYPES.get(ext, "application/octet-stream")


def etag_of(data: bytes) -> str:
    """The entity tag (unquoted) of an answer whose bytes ``data`` name its version."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()
