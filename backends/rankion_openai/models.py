"""What each GPT image model takes, as the Images API documents it.

The core validates every request against these values before a job is queued, so a
request the API would refuse with a ``400`` is a ``422`` naming the field and the
model instead, and no credit is spent on it. ``n`` is capped at the contract's 4
(the API takes up to 10): each image is its own job and its own API call.
"""

from __future__ import annotations

from rankion_core.ports import ModelCapabilities
from rankion_core.rules.limits import MODERATIONS, N_MAX, PARTIAL_IMAGES_MAX

__all__ = ["SIZES", "capabilities_of"]

SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")

#: ``input_fidelity`` per model: gpt-image-1 and 1.5 take both values, the mini model
#: only ``low``; a model not listed here is never sent the option.
_INPUT_FIDELITY: dict[str, tuple[str, ...]] = {
    "gpt-image-1": ("high", "low"),
    "gpt-image-1.5": ("high", "low"),
    "gpt-image-1-mini": ("low",),
}


def capabilities_of(model: str) -> ModelCapabilities:
    """The GPT image models' common capabilities, with the model's own
    ``input_fidelity`` (none for a model this table does not know)."""
    return ModelCapabilities(
        id=model,
        sizes=SIZES,
        max_n=N_MAX,
        supports_edit=True,
        supports_mask=True,
        partial_images=PARTIAL_IMAGES_MAX,
        input_fidelity=_INPUT_FIDELITY.get(model, ()),
        moderation=MODERATIONS,
        output_compression=True,
    )
