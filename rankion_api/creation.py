"""Generate and edit: the request bodies and the ``202`` answers."""

from __future__ import annotations

from typing import Any, ClassVar

from attrs import define, field

from rankion_core.models import ProcessingStatus
from rankion_core.rules.limits import (
    BACKGROUNDS,
    COMPRESSIBLE_FORMATS,
    COMPRESSION_MAX,
    INPUT_FIDELITIES,
    MODERATIONS,
    N_MAX,
    OUTPUT_FORMATS,
    PARTIAL_IMAGES_MAX,
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
MODEL_LIMITS = "; the chosen model may take less (GET /v1/models), else 422 naming the model"
PARTIAL_IMAGES_DOC = doc(
    "previews sent as `event: preview` on the job's event stream while it runs" + MODEL_LIMITS,
    minimum=0,
    maximum=PARTIAL_IMAGES_MAX,
)


@define(frozen=True)
class GenerateImageBody:
    #: output_compression (not null) only with a jpeg or webp output_format: png, the
    #: default when output_format is left out, has no compression level
    __json_schema__: ClassVar[dict[str, Any]] = {
        "anyOf": [
            {"properties": {"output_compression": {"type": "null"}}},
            {
                "required": ["output_format"],
                "properties": {"output_format": {"enum": list(COMPRESSIBLE_FORMATS)}},
            },
        ]
    }

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
    n: int | None = field(
        default=None,
        metadata=doc(
            "how many images: each its own image and job, each charged 5" + MODEL_LIMITS,
            minimum=1,
            maximum=N_MAX,
        ),
    )
    output_compression: int | None = field(
        default=None,
        metadata=doc(
            f"only with output_format {' or '.join(COMPRESSIBLE_FORMATS)} (not the default "
            "png), else 422" + MODEL_LIMITS,
            minimum=0,
            maximum=COMPRESSION_MAX,
        ),
    )
    moderation: str | None = field(
        default=None,
        metadata=doc("content moderation level" + MODEL_LIMITS, enum=list(MODERATIONS)),
    )
    partial_images: int | None = field(default=None, metadata=PARTIAL_IMAGES_DOC)


@define(frozen=True)
class EditImageBody:
    prompt: str = field(metadata=PROMPT_DOC)
    edit_session_id: int | None = field(
        default=None,
        metadata=doc(
            "continue this session; one that is missing or of another variant tree is 422",
            minimum=1,
        ),
    )
    mask: str | None = field(
        default=None,
        metadata=doc("base64 PNG whose transparent pixels mark what to change"),
    )
    size: str | None = None
    quality: str | None = field(default=None, metadata=doc(enum=list(QUALITIES)))
    input_fidelity: str | None = field(
        default=None,
        metadata=doc(
            "how closely the edit keeps the source's features" + MODEL_LIMITS,
            enum=list(INPUT_FIDELITIES),
        ),
    )
    partial_images: int | None = field(default=None, metadata=PARTIAL_IMAGES_DOC)


@define(frozen=True)
class QueuedImageOut:
    image_id: int
    job_id: int


@define(frozen=True)
class QueuedOut:
    job_id: int = field(metadata=doc("the first image's job"))
    image_id: int = field(metadata=doc("the first image"))
    processing_status: ProcessingStatus
    credits_charged: int = field(metadata=doc("5 per image"))
    credits_remaining: int
    images: list[QueuedImageOut] = field(
        factory=list, metadata=doc("every image queued (n of them), the first one first")
    )


@define(frozen=True)
class ModelOut:
    """What one model takes: ``GET /v1/models``."""

    id: str
    sizes: list[str]
    qualities: list[str]
    output_formats: list[str]
    max_n: int = field(metadata=doc("the most images one request may ask for (n)"))
    supports_edit: bool
    supports_mask: bool
    partial_images: int = field(metadata=doc("the most previews a request may ask for; 0: none"))
    input_fidelity: list[str] = field(
        metadata=doc("the input_fidelity values an edit may ask for; empty: not taken")
    )
    moderation: list[str] = field(metadata=doc("the moderation levels; empty: not taken"))
    output_compression: bool = field(
        metadata=doc("whether output_compression is taken (for jpeg and webp)")
    )
    default: bool = field(metadata=doc("the model used when a request names none"))


@define(frozen=True)
class EditQueuedOut:
    job_id: int
    edit_session_id: int
    image_id: int = field(metadata=doc("the new variant"))
    processing_status: ProcessingStatus
    credits_charged: int
    credits_remaining: int
