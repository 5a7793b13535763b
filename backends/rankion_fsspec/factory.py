"""``open_blob_store(url)``: the ``rankion.blobs`` entry point for file, memory and s3.

- a plain path or ``file:///abs/dir``: a local folder, created if missing;
- ``memory://name``: a private in-memory namespace (see ``memory``);
- ``s3://bucket/prefix``: S3 through s3fs. Options: ``endpoint_url`` (where the store
  is, when it is not AWS), ``key``/``secret`` (else ``AWS_ACCESS_KEY_ID``/
  ``AWS_SECRET_ACCESS_KEY``), ``region`` (else ``AWS_DEFAULT_REGION``); any other
  option goes to ``s3fs.S3FileSystem`` (``config_kwargs``, ``client_kwargs``,
  ``profile``...).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlsplit

from rankion_core.errors import Invalid
from rankion_core.ports import Clock

from .backend import Backend
from .store import FsspecBlobStore

__all__ = ["open_blob_store"]

#: AWS's own variables, for the options not given
_S3_ENV = {
    "key": "AWS_ACCESS_KEY_ID",
    "secret": "AWS_SECRET_ACCESS_KEY",
    "region": "AWS_DEFAULT_REGION",
}


def open_blob_store(url: str, *, clock: Clock | None = None, **options: Any) -> FsspecBlobStore:
    """The blob store ``url`` names. Nothing is contacted yet: S3 connects on first use."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    backend: Backend
    if scheme in ("", "file") or len(scheme) == 1:  # one letter: a Windows drive
        backend = _local(_file_url_path(url) if scheme == "file" else url, options)
    elif scheme == "memory":
        backend = _memory(parts.netloc + parts.path, options)
    elif scheme in ("s3", "s3a"):
        backend = _s3(parts.netloc, parts.path, options)
    else:
        raise Invalid(f"unsupported blob store URL scheme {scheme!r}", details={"url": "scheme"})
    return FsspecBlobStore(backend, clock=clock)


def _file_url_path(url: str) -> str:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise Invalid("a file:// URL must name a local folder", details={"url": "host"})
    return unquote(parts.path)


def _local(path: str, options: dict[str, Any]) -> Backend:
    from .local import LocalBackend

    _no_options("file", options)
    return LocalBackend(path)


def _memory(name: str, options: dict[str, Any]) -> Backend:
    from .memory import MemoryBackend

    _no_options("memory", options)
    return MemoryBackend(name.strip("/") or "default")


def _s3(bucket: str, prefix: str, options: dict[str, Any]) -> Backend:
    from .s3 import S3Backend

    prefix = prefix.strip("/")
    bad_prefix = prefix != "" and any(p in ("", ".", "..") for p in prefix.split("/"))
    if not bucket or bad_prefix:
        raise Invalid("an S3 blob URL is s3://bucket[/prefix]", details={"url": "bucket"})
    for option, variable in _S3_ENV.items():
        if options.get(option) is None:
            options[option] = os.environ.get(variable) or None
    return S3Backend(bucket, prefix, **options)


def _no_options(scheme: str, options: dict[str, Any]) -> None:
    if options:
        names = ", ".join(sorted(options))
        raise Invalid(f"{scheme} blob stores take no options (got {names})")
