"""Bytes for any web framework: an image's original, thumbnail, clean copy or
rendition for an actor, and what a signed ``/files/…`` URL points at.

``Files.open`` is the gallery's rule (the actor's team only; another team's id, an
image not ready and a variant it does not have are all the same ``NotFound`` as a
missing image). ``Files.open_signed`` is the one definition of a signed link's rule:
a bad, tampered or expired signature and a signed blob that is gone all raise the
same ``NotFound("file")``, so a server gives no tell. Both hand back a
``BlobContent``: what to stream and the headers to stream it with. Nothing here
reads a byte until ``chunks()`` or ``read()`` is called.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from attrs import define, field

from ..errors import NotFound
from ..models import Actor, Image
from ..ports import BlobStore
from ..rules.limits import DIGITS_MAX
from ..rules.media import content_type_of, etag_of
from ..rules.renditions import MIME_TYPES, renditions_of
from .deps import Deps
from .gallery import get_image
from .views import FILES_PREFIX

__all__ = [
    "SIGNED_MAX_AGE",
    "VARIANTS",
    "BlobContent",
    "Files",
    "image_content",
    "rendition_name",
]

#: the variants every ready image may have, besides its renditions (``rendition_name``)
VARIANTS = ("original", "thumbnail", "public")
#: how long a browser may keep what a signed link gave, at most (never past the link)
SIGNED_MAX_AGE = 3600
#: longer signed paths or signatures are bad links, not work (keys are ~60 characters)
SIGNED_PATH_MAX = 1024
SIGNATURE_MAX = 64


@define(frozen=True, kw_only=True)
class BlobContent:
    """One blob to send: its bytes come from ``chunks()`` (or ``read()``), streamed
    from the blob store. A blob removed after it was opened (a purge in between)
    raises ``NotFound`` from the first chunk."""

    key: str
    content_type: str
    #: the size in bytes when storage knows it without asking the blob store
    size: int | None
    #: the name to suggest in ``Content-Disposition`` (export ZIPs, image downloads)
    filename: str | None
    #: the entity tag (unquoted): a key's bytes never change, so it names the version
    etag: str
    #: seconds a browser may cache it (signed links: until the link expires, at most
    #: ``SIGNED_MAX_AGE``); None when the host decides
    max_age: int | None = None
    blobs: BlobStore = field(repr=False, eq=False)

    def chunks(self, chunk_size: int = 1 << 20) -> AsyncIterator[bytes]:
        """The bytes, ``chunk_size`` at a time, never all in memory."""
        return self.blobs.stream(self.key, chunk_size)

    async def read(self) -> bytes:
        """All the bytes at once (small blobs: thumbnails, renditions)."""
        return await self.blobs.get(self.key)

    def local_file(self) -> str | None:
        """The file holding the bytes when the blob store keeps files on this machine
        (send it with the framework's file response: sendfile, ``Range``), else None."""
        return self.blobs.local_file(self.key)


def rendition_name(format: str, width: int) -> str:
    """How ``Files.open`` names a rendition: ``webp-512``."""
    return f"{format}-{width}"


def _variant(image: Image, variant: str) -> tuple[str, str, int | None] | None:
    """``(key, content type, size)`` of one of a ready image's variants, or None."""
    if image.blob_key is None:
        return None
    mime = image.mime_type or content_type_of(image.blob_key)
    if variant == "original":
        return image.blob_key, mime, image.bytes
    if variant == "public":
        key = image.public_blob_key or image.blob_key
        return key, mime, image.bytes if key == image.blob_key else None
    if variant == "thumbnail":
        thumb = image.thumbnail_key
        return (thumb, content_type_of(thumb), None) if thumb else None
    for r in renditions_of(image):
        if rendition_name(r.format, r.width) == variant:
            return r.key, MIME_TYPES.get(r.format, content_type_of(r.key)), r.bytes
    return None


def image_content(blobs: BlobStore, image: Image, variant: str = "original") -> BlobContent:
    """``variant`` of ``image`` (see ``Files.open``); ``NotFound("image")`` when the
    image has no such variant (yet)."""
    found = _variant(image, variant)
    if found is None:
        raise NotFound("image")
    key, content_type, size = found
    ext = key.rsplit(".", 1)[-1] if "." in key else "bin"
    suffix = "" if variant == "original" else f"-{variant}"
    return BlobContent(
        key=key,
        content_type=content_type,
        size=size,
        filename=f"rankion-{image.id}{suffix}.{ext}",
        etag=etag_of(key.encode()),
        blobs=blobs,
    )


class Files:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def open(self, actor: Actor, image_id: int, variant: str = "original") -> BlobContent:
        """One of the actor's image's variants: ``original``, ``thumbnail``, ``public``
        (what a share serves: the copy without metadata) or a rendition
        (``webp-512``, as ``rendition_name`` names the detail's ``renditions``)."""
        async with self.deps.storage.unit_of_work() as uow:
            image = await get_image(uow, actor, image_id)
        return image_content(self.deps.blobs, image, variant)

    async def open_signed(self, path: str, expires: str, sig: str) -> BlobContent:
        """What a signed link's ``path`` (after the signer's base URL, percent-decoded:
        ``/files/images/…png``) and its ``expires`` and ``sig`` query values point at.
        Anything wrong is ``NotFound("file")``, whatever it was."""
        now = self.deps.clock.now()
        well_formed = (
            path.startswith(FILES_PREFIX)
            and len(path) <= SIGNED_PATH_MAX
            and len(expires) <= DIGITS_MAX
            and len(sig) <= SIGNATURE_MAX
            and expires.isascii()
            and sig.isascii()
        )
        if not well_formed or not self.deps.signer.verify(path, expires, sig, now):
            raise NotFound("file")
        key = path.removeprefix(FILES_PREFIX)
        if not await self.deps.blobs.exists(key):
            raise NotFound("file")  # signed but gone: the same answer as a bad signature
        filename = None
        if key.startswith("exports/"):
            filename = f"rankion-export-{key.rsplit('/', 1)[-1]}"
        return BlobContent(
            key=key,
            content_type=content_type_of(key),
            size=None,
            filename=filename,
            etag=etag_of(key.encode()),
            max_age=max(0, min(SIGNED_MAX_AGE, int(expires) - int(now.timestamp()))),
            blobs=self.deps.blobs,
        )
