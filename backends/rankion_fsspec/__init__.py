"""Rankion's blob store on fsspec: a local folder (default), ``memory://`` and ``s3://``.

``open_blob_store(url)`` is the ``rankion.blobs`` entry point; ``FsspecBlobStore``
implements ``rankion_core.ports.BlobStore``.
"""

from __future__ import annotations

from .factory import open_blob_store
from .store import FsspecBlobStore

__all__ = ["FsspecBlobStore", "open_blob_store"]
