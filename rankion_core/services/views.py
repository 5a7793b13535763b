"""What services hand back: entities plus what only the service layer knows
(browser-openable URLs, the active share, the variant tree)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from attrs import define, field

from ..models import Image, ProcessingStatus, Share
from ..rules.renditions import Rendition, renditions_of
from ..signing import url_expiry
from .deps import Deps

#: the route the server serves signed local blobs under
FILES_PREFIX = "/files/"


@define(frozen=True)
class ShareView:
    share: Share
    public_url: str


@define(frozen=True)
class ImageView:
    image: Image
    url: str | None = None
    thumbnail_url: str | None = None
    share: ShareView | None = None


@define(frozen=True)
class VariantView:
    view: ImageView
    depth: int


@define(frozen=True)
class RenditionView:
    rendition: Rendition
    url: str


@define(frozen=True)
class ImageDetail:
    view: ImageView
    variants: list[VariantView] = field(factory=list)
    parents: list[ImageView] = field(factory=list)
    #: the image's renditions with signed URLs (none until ready)
    renditions: list[RenditionView] = field(factory=list)


def blob_url(deps: Deps, key: str, expires_at: datetime, filename: str | None = None) -> str:
    """A URL a browser opens without the token: presigned by the store, or signed here.

    A store may say it never presigns with ``presigns = False`` (the local and memory
    stores do): then it is not asked, per URL, only to answer None. A store without the
    attribute is asked as before."""
    blobs = deps.blobs
    if getattr(blobs, "presigns", True):
        url = blobs.presign(key, expires_at=expires_at, filename=filename)
        if url is not None:
            return url
    return deps.signer.sign(FILES_PREFIX + key, expires_at)


def share_view(deps: Deps, share: Share) -> ShareView:
    return ShareView(share=share, public_url=f"{deps.base_url}/s/{share.token}")


def _urls(deps: Deps, expires: datetime) -> Callable[[str], str]:
    """``key -> blob_url(deps, key, expires)``, with what is the same for every URL of
    a page worked out once (whether the store presigns, the expiry's timestamp)."""
    if getattr(deps.blobs, "presigns", True):
        return lambda key: blob_url(deps, key, expires)
    signed, stamp = deps.signer.sign_at, int(expires.timestamp())
    return lambda key: signed(FILES_PREFIX + key, stamp)


def image_view(
    deps: Deps, image: Image, share: Share | None = None, urls: Callable[[str], str] | None = None
) -> ImageView:
    """``image`` with its URLs (made by ``urls``, by default valid until
    ``url_expiry(now)``) and its active ``share``."""
    shared = share_view(deps, share) if share else None
    if image.processing_status is not ProcessingStatus.READY or image.blob_key is None:
        return ImageView(image=image, share=shared)
    url = urls or _urls(deps, url_expiry(deps.clock.now()))
    thumb = url(image.thumbnail_key) if image.thumbnail_key else None
    return ImageView(image=image, url=url(image.blob_key), thumbnail_url=thumb, share=shared)


def rendition_views(
    deps: Deps, image: Image, urls: Callable[[str], str] | None = None
) -> list[RenditionView]:
    """The ready image's renditions, smallest first, each with a signed URL."""
    if image.processing_status is not ProcessingStatus.READY:
        return []
    url = urls or _urls(deps, url_expiry(deps.clock.now()))
    return [RenditionView(r, url(r.key)) for r in renditions_of(image)]


def image_views(
    deps: Deps, images: Iterable[Image], shares: Mapping[int, Share]
) -> list[ImageView]:
    """``image_view`` of each image with its share; one expiry for the lot."""
    urls = _urls(deps, url_expiry(deps.clock.now()))
    return [image_view(deps, i, shares.get(i.id), urls=urls) for i in images]
