"""Streaming a blob to S3 in flat memory: one ``PutObject``, or a multipart upload.

Chunks are gathered into parts of ``PART_SIZE`` bytes (S3 wants at least 5 MiB for
every part but the last); each full part is uploaded before more chunks are read, so
at most about one part is held at a time, whatever the stream's length. A stream
shorter than one part becomes a single ``PutObject``. A failed or cancelled upload
is aborted so S3 keeps no half object; if even the abort fails (S3 down), the
bucket's lifecycle rule for incomplete multipart uploads is the last line.

We talk to S3 through ``S3FileSystem._call_s3`` rather than s3fs's file objects
because s3fs has no asynchronous streaming writer (fsspec/s3fs#871).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable
from typing import Any

__all__ = ["PART_SIZE", "upload_stream"]

PART_SIZE = 8 << 20


async def upload_stream(
    fs: Any, bucket: str, key: str, chunks: AsyncIterable[bytes], content_type: str
) -> int:
    """Store ``chunks`` as ``bucket/key`` with ``content_type``; the byte count."""
    upload: _Multipart | None = None
    pending: list[bytes] = []
    pending_size = size = 0
    try:
        async for chunk in chunks:
            pending.append(chunk)
            pending_size += len(chunk)
            size += len(chunk)
            if pending_size >= PART_SIZE:
                upload = upload or await _Multipart.start(fs, bucket, key, content_type)
                await upload.add(b"".join(pending))
                pending, pending_size = [], 0
        if upload is None:
            body = b"".join(pending)
            await fs._call_s3(
                "put_object", Bucket=bucket, Key=key, Body=body, ContentType=content_type
            )
        else:
            await upload.finish(b"".join(pending))
    except BaseException:
        if upload is not None:
            await asyncio.shield(upload.abort())
        raise
    return size


class _Multipart:
    """One S3 multipart upload in progress: its id and the parts sent so far."""

    def __init__(self, fs: Any, bucket: str, key: str, upload_id: str) -> None:
        self._fs = fs
        self._target = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
        self._parts: list[dict[str, Any]] = []

    @classmethod
    async def start(cls, fs: Any, bucket: str, key: str, content_type: str) -> _Multipart:
        response = await fs._call_s3(
            "create_multipart_upload", Bucket=bucket, Key=key, ContentType=content_type
        )
        return cls(fs, bucket, key, response["UploadId"])

    async def add(self, part: bytes) -> None:
        number = len(self._parts) + 1
        response = await self._fs._call_s3(
            "upload_part", PartNumber=number, Body=part, **self._target
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    async def finish(self, last_part: bytes) -> None:
        """Send the (possibly short) last part, if any, and complete the upload."""
        if last_part:
            await self.add(last_part)
        await self._fs._call_s3(
            "complete_multipart_upload", MultipartUpload={"Parts": self._parts}, **self._target
        )

    async def abort(self) -> None:
        with contextlib.suppress(Exception):
            await self._fs._call_s3("abort_multipart_upload", **self._target)
