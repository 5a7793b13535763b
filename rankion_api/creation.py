"""Generate and edit: the request bodies and the ``202`` answers."""

from __future__ import annotations

from attrs import define, field

from rankion_core.models import ProcessingStatus
from rankion_core.rules.limits import (
    BACKGROUNDS,
    OUTPUT_FORMATS,
    PROMPT_MAX,
    QUALITIES,
    SLOT_MAX,
    TITLE_MAX,
)
from rankion_core.rules.text import NOT_BLANK

from .common import doc
from .images import TAGS_DOC

PROMPT_DOC = doc(minLength=1, maxLength=PROMPT_MAX, pattern=NOT_BLANK)
ID_DOC = doc(minimum=1)


@define(frozen=True)
class GenerateImageBody:
    prompt: str = field(metadata=PROMPT_DOC)
    model: str | None = field(default=None, metadata=doc("one of the provider's models"))
    size: str | None = field(default=None, metadata=doc("one of the provider's sizes"))
    quality: str | None = field(default=None, metadata=doc(enum=list(QUALITIES)))
    background: str | None = field(default=None, metadata=doc(enum=list(BACKGROUNDS)))
    output_format: str | None = field(default=None, metadata=doc(enum=list(OUTPUT_FORMATS)))
    title: str | None = field(default=None, metadata=doc(maxLength=TITLE_MAX))
    tags: list[str] | None = field(default=None, metadata=TAGS_DOC)
    project_id: int | None = field(default=None, metadata=ID_DOC)
    article_id: int | None = field(default=None, metadata=ID_DOC)
    slot: str | None = field(default=None, metadata=doc(minLength=1, maxLength=SLOT_MAX))


@define(frozen=True)
class EditImageBody:
    prompt: str = field(metadata=PROMPT_DOC)
    edit_session_id: int | None = field(
        default=None, metadata=doc("continue this session (of the same variant tree)", minimum=1)
    )
    mask: str | None = field(
        default=None,
        metadata=doc("base64 PNG whose transparent pixels mark what to change"),
    )
    size: str | None = None
    quality: str | None = field(default=None, metadata=doc(enum=list(QUALITIES)))


@define(frozen=True)
class QueuedOut:
    job_id: int
    image_id: int
    processing_status: ProcessingStatus
    credits_charged: int
    credits_remaining: int


@define(frozen=True)
class EditQueuedOut:
    job_id: int
    edit_session_id: int
    image_id: int = field(metadata=doc("the new variant"))
    processing_status: ProcessingStatus
    credits_charged: int
    credits_remaining: int
