"""The S3 flavour: s3fs in asynchronous mode (any S3-compatible endpoint).

The filesystem is built with ``asynchronous=True`` and ``skip_instance_cache=True``
(s3fs's instance cache would share one aiohttp session across event loops,
fsspec/s3fs#842) and without listings cache, so a key written by another process is
seen at once. The aiobotocore session is opened lazily on first use and closed by
``close``. Streaming writes are multipart uploads (``multipart``); streaming reads
read the ``GetObject`` body as it arrives. s3fs is an optional extra, imported here
only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterable
from typing import Any

from .multipart import upload_stream
from .presign import presigned_get
from .sessions import aio_session, signing_client

__all__ = ["S3Backend"]

INSTALL_HINT = "S3 blob storage needs s3fs: pip install 'rankion[s3]'"

_RETRIES = {"mode": "standard", "total_max_attempts": 3}
"""botocore's default (``legacy``, 5 attempts) takes ~7 s to report a dead endpoint."""


def _import_s3fs() -> Any:
    try:
        import s3fs
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return s3fs


class S3Backend:
    """Blobs as objects under ``bucket/prefix``; ``options`` go to ``s3fs.S3FileSystem``."""

    presigns = True

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        key: str | None = None,
        secret: str | None = None,
        region: str | None = None,
        **options: Any,
    ) -> None:
        s3fs = _import_s3fs()
        import aiohttp
        from botocore.exceptions import BotoCoreError, ClientError

        client_kwargs = dict(options.pop("client_kwargs", None) or {})
        if region:
            client_kwargs.setdefault("region_name", region)
        config_kwargs = {"retries": _RETRIES, **(options.pop("config_kwargs", None) or {})}
        self.fs = s3fs.S3FileSystem(
            asynchronous=True,
            skip_instance_cache=True,
            use_listings_cache=False,
            endpoint_url=endpoint_url,
            key=key,
            secret=secret,
            client_kwargs=client_kwargs,
            config_kwargs=config_kwargs,
            **options,
        )
        self.bucket = bucket
        self.root = f"{bucket}/{prefix}" if prefix else bucket
        self.transient: tuple[type[BaseException], ...] = (
            BotoCoreError,
            ClientError,
            aiohttp.ClientError,
        )
        self._signer: Any = None
        self._opened = False

    async def open(self) -> None:
        """Start the aiobotocore session; the slow, blocking parts run in a thread."""
        if self.fs.session is None:
            self.fs.session = await asyncio.to_thread(aio_session, self.fs.kwargs)
        await self.fs.set_session()
        self._opened = True
        if self._signer is None:
            self._signer = await asyncio.to_thread(signing_client, self.fs)

    async def write(self, path: str, chunks: AsyncIterable[bytes], content_type: str) -> int:
        bucket, key, _ = self.fs.split_path(path)
        return await upload_stream(self.fs, bucket, key, chunks, content_type)

    async def read(self, path: str, chunk_size: int) -> AsyncGenerator[bytes, None]:
        bucket, key, _ = self.fs.split_path(path)
        response = await self.fs._call_s3("get_object", Bucket=bucket, Key=key)
        body = response["Body"]
        try:
            while chunk := await _read_up_to(body, chunk_size):
                yield chunk
        finally:
            body.close()

    def presign(self, path: str, expires_in: int, filename: str | None) -> str | None:
        if self._signer is None:  # presign before any other call: build it here, once
            self._signer = signing_client(self.fs)
        bucket, key, _ = self.fs.split_path(path)
        return presigned_get(self._signer, bucket, key, expires_in, filename)

    async def remove(self, path: str) -> None:
        await self.fs._rm_file(path)

    def local_file(self, path: str) -> str | None:
        return None

    async def ping(self) -> None:
        await self.fs._call_s3("head_bucket", Bucket=self.bucket)

    async def close(self) -> None:
        """Close the aiobotocore client, the live one (s3fs may have replaced the first)."""
        if self._opened:
            self._opened = False
            client = await self.fs.set_session()
            await client.close()


async def _read_up_to(body: Any, size: int) -> bytes:
    """Up to ``size`` bytes of ``body``; fewer only at its end (aiohttp hands out less)."""
    pieces: list[bytes] = []
    missing = size
    while missing > 0:
        piece = await body.read(missing)
        if not piece:
            break
        pieces.append(piece)
        missing -= len(piece)
    return b"".join(pieces)
