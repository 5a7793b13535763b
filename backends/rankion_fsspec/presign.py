"""Presigned S3 GET URLs (with the synchronous client of ``sessions.signing_client``)."""

from __future__ import annotations

import urllib.parse
from typing import Any

from rankion_core.errors import Invalid

__all__ = ["MAX_EXPIRES_IN", "content_disposition", "presigned_get"]

MAX_EXPIRES_IN = 7 * 24 * 3600
"""The longest a SigV4 presigned URL can be valid."""


def presigned_get(signer: Any, bucket: str, key: str, expires_in: int, filename: str | None) -> str:
    """A GET URL for ``bucket/key`` valid ``expires_in`` seconds, a download named
    ``filename`` when given."""
    if expires_in > MAX_EXPIRES_IN:
        raise Invalid(
            "a presigned S3 URL can be valid for at most 7 days",
            details={"expires_at": "more than 7 days ahead"},
        )
    params = {"Bucket": bucket, "Key": key}
    if filename is not None:
        params["ResponseContentDisposition"] = content_disposition(filename)
    return str(signer.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in))


def content_disposition(filename: str) -> str:
    """``attachment`` with a plain-ASCII ``filename`` and the exact name in RFC 5987 form."""
    filename = filename or "download"
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\/' else "_" for c in filename)
    exact = urllib.parse.quote(filename, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}"
