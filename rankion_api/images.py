"""The gallery image, its detail view and the small answers about one image."""

from __future__ import annotations

from datetime import datetime

from attrs import define, field

from rankion_core.models import ProcessingStatus
from rankion_core.rules.limits import TAG_MAX, TAGS_MAX, TITLE_MAX
from rankion_core.rules.text import NOT_BLANK

from .common import UNSET, Unset, doc
from .shares import ShareOut

TAGS_DOC = doc(
    "trimmed and de-duplicated case-insensitively (first spelling wins)",
    maxItems=TAGS_MAX,
    items={"type": "string", "minLength": 1, "maxLength": TAG_MAX, "pattern": NOT_BLANK},
)


@define(frozen=True)
class PatchImageBody:
    title: str | Unset | None = field(default=UNSET, metadata=doc(maxLength=TITLE_MAX))
    tags: list[str] | Unset = field(default=UNSET, metadata=TAGS_DOC)


@define(frozen=True)
class ImageOut:
    id: int
    team_id: int
    project_id: int | None
    article_id: int | None
    slot: str | None
    title: str | None
    prompt: str
    model: str
    size: str
    quality: str
    background: str | None
    output_format: str
    tags: list[str]
    is_favorite: bool
    processing_status: ProcessingStatus
    error: str | None
    url: str | None = field(metadata=doc("signed, opens without the token; null until ready"))
    thumbnail_url: str | None
    width: int | None
    height: int | None
    mime_type: str | None
    bytes: int | None
    parent_id: int | None
    root_id: int | None = field(metadata=doc("the root of the variant tree; null for a root"))
    edit_session_id: int | None
    credits_charged: int
    share: ShareOut | None
    share_views: int
    created_at: datetime
    updated_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    purge_at: datetime | None
    placeholder: str | None = field(
        metadata=doc("the ThumbHash of the image, base64 (draw it while the image loads)")
    )


@define(frozen=True)
class RenditionOut:
    format: str = field(metadata=doc("webp or avif", enum=["webp", "avif"]))
    width: int
    height: int
    bytes: int
    url: str = field(metadata=doc("signed, opens without the token"))


@define(frozen=True)
class ParentOut:
    id: int
    parent_id: int | None
    title: str | None
    prompt: str
    processing_status: ProcessingStatus
    url: str | None
    thumbnail_url: str | None
    created_at: datetime
    deleted_at: datetime | None


@define(frozen=True)
class VariantOut:
    id: int
    parent_id: int | None
    depth: int = field(metadata=doc("1 for a direct edit of the image, 2 for an edit of that..."))
    title: str | None
    prompt: str
    processing_status: ProcessingStatus
    url: str | None
    thumbnail_url: str | None
    created_at: datetime
    deleted_at: datetime | None


@define(frozen=True)
class ImageDetailOut(ImageOut):
    variants: list[VariantOut] = field(metadata=doc("every descendant, oldest first"))
    parents: list[ParentOut] = field(metadata=doc("the ancestors, root first"))
    phash: str | None = field(
        metadata=doc("64-bit perceptual hash, 16 hex digits; null until ready")
    )
    renditions: list[RenditionOut] = field(
        metadata=doc("webp and avif at 256, 512 and 1024 px wide, never above the original's")
    )
    srcset: dict[str, str] = field(
        metadata=doc("per format, the renditions as an HTML srcset (`url 256w, url 512w`)")
    )


@define(frozen=True)
class SimilarImageOut(ImageOut):
    distance: int = field(metadata=doc("how many of the 64 perceptual-hash bits differ"))


@define(frozen=True)
class FavoriteOut:
    id: int
    is_favorite: bool


@define(frozen=True)
class TrashedOut:
    id: int
    deleted_at: datetime | None
    purge_at: datetime | None
