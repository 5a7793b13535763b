"""What a model can do, and the generation options checked against it.

A provider declares one ``ModelCapabilities`` per model, as data. That one value is
what validation reads here, what ``GET /v1/models`` serves, and what the procedural
provider draws by: nothing restates it. The contract's own bounds (``n`` 1..4,
``partial_images`` 0..3, ``output_compression`` 0..100, the enums) are checked first,
naming the field; then the chosen model's, naming the field and the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from attrs import define, field

from ..errors import Invalid
from .limits import (
    BACKGROUNDS,
    COMPRESSIBLE_FORMATS,
    COMPRESSION_MAX,
    INPUT_FIDELITIES,
    MODERATIONS,
    N_MAX,
    OUTPUT_FORMATS,
    PARTIAL_IMAGES_MAX,
    QUALITIES,
)

__all__ = [
    "EditOptions",
    "GenerateOptions",
    "ModelCapabilities",
    "check_edit",
    "check_generate",
    "choice",
    "default_size",
    "model_named",
    "options_of",
]


def _within(low: int, high: int) -> Any:
    def check(instance: object, attribute: Any, value: int) -> None:
        if not low <= value <= high:
            raise ValueError(f"{attribute.name} must be within {low}..{high}, not {value}")

    return check


def _subset(allowed: Sequence[str]) -> Any:
    def check(instance: object, attribute: Any, value: tuple[str, ...]) -> None:
        unknown = set(value) - set(allowed)
        if unknown:
            raise ValueError(f"{attribute.name} has values outside {allowed}: {sorted(unknown)}")

    return check


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _nonempty(instance: object, attribute: Any, value: tuple[str, ...]) -> None:
    if not value:
        raise ValueError(f"{attribute.name} must name at least one value")


@define(frozen=True)
class ModelCapabilities:
    """What one model of a provider accepts. Declared by the provider, served by
    ``GET /v1/models``; every field within the contract's bounds."""

    id: str
    #: ``WIDTHxHEIGHT`` sizes, and ``auto`` when the model picks one
    sizes: tuple[str, ...] = field(converter=_strings, validator=_nonempty)
    qualities: tuple[str, ...] = field(
        default=QUALITIES, converter=_strings, validator=(_nonempty, _subset(QUALITIES))
    )
    output_formats: tuple[str, ...] = field(
        default=OUTPUT_FORMATS, converter=_strings, validator=(_nonempty, _subset(OUTPUT_FORMATS))
    )
    #: the most images one request may ask for (``n``)
    max_n: int = field(default=1, validator=_within(1, N_MAX))
    supports_edit: bool = True
    supports_mask: bool = True
    #: the most partial images (previews) a request may ask for; 0: none
    partial_images: int = field(default=0, validator=_within(0, PARTIAL_IMAGES_MAX))
    #: the ``input_fidelity`` values an edit may ask for; empty: the option is not taken
    input_fidelity: tuple[str, ...] = field(
        default=(), converter=_strings, validator=_subset(INPUT_FIDELITIES)
    )
    #: the ``moderation`` levels it takes; empty: the option is not taken
    moderation: tuple[str, ...] = field(
        default=(), converter=_strings, validator=_subset(MODERATIONS)
    )
    #: whether it takes ``output_compression`` (for its jpeg and webp outputs)
    output_compression: bool = False


def model_named(models: Sequence[ModelCapabilities], model_id: str) -> ModelCapabilities | None:
    return next((m for m in models if m.id == model_id), None)


def default_size(model: ModelCapabilities) -> str:
    return "1024x1024" if "1024x1024" in model.sizes else model.sizes[0]


def _listed(allowed: Sequence[str]) -> str:
    return ", ".join(allowed) if allowed else "none"


def choice(name: str, value: str | None, allowed: Sequence[str], default: str) -> str:
    """``value`` if it is one of ``allowed``; ``default`` when absent; else ``Invalid``."""
    if value is None:
        return default
    if value not in allowed:
        raise Invalid(
            f"{name} must be one of {_listed(allowed)}",
            details={name: f"one of {_listed(allowed)}"},
        )
    return value


def _model_refuses(name: str, model: ModelCapabilities, what: str) -> Invalid:
    """The ``422`` of a value within the contract's bounds that ``model`` does not take."""
    return Invalid(f"{name}: model {model.id} {what}", details={name: f"model {model.id} {what}"})


def _bounded(name: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise Invalid(
            f"{name} must be between {low} and {high}", details={name: f"between {low} and {high}"}
        )


def _model_choice(
    name: str, value: str | None, model: ModelCapabilities, allowed: Sequence[str]
) -> None:
    if value is not None and value not in allowed:
        if not allowed:
            raise _model_refuses(name, model, f"does not take {name}")
        raise _model_refuses(name, model, f"takes {name} {_listed(allowed)}")


def _previews(model: ModelCapabilities, partial_images: int | None) -> int:
    _bounded("partial_images", partial_images, 0, PARTIAL_IMAGES_MAX)
    if partial_images and partial_images > model.partial_images:
        what = (
            "makes no partial images"
            if model.partial_images == 0
            else f"makes at most {model.partial_images} partial images"
        )
        raise _model_refuses("partial_images", model, what)
    return partial_images or 0


@define(frozen=True)
class GenerateOptions:
    """A generation's checked options: its look and what each of its jobs asks for."""

    size: str
    quality: str
    background: str
    output_format: str
    n: int = 1
    output_compression: int | None = None
    moderation: str | None = None
    partial_images: int = 0

    def job_options(self) -> dict[str, Any]:
        """What each job's payload keeps for the provider call (only what was asked)."""
        asked = {
            "output_compression": self.output_compression,
            "moderation": self.moderation,
            "partial_images": self.partial_images or None,
        }
        return {k: v for k, v in asked.items() if v is not None}


@define(frozen=True)
class EditOptions:
    size: str
    quality: str
    input_fidelity: str | None = None
    partial_images: int = 0

    def job_options(self) -> dict[str, Any]:
        asked = {
            "input_fidelity": self.input_fidelity,
            "partial_images": self.partial_images or None,
        }
        return {k: v for k, v in asked.items() if v is not None}


def check_generate(
    model: ModelCapabilities,
    *,
    size: str | None,
    quality: str | None,
    background: str | None,
    output_format: str | None,
    n: int | None = None,
    output_compression: int | None = None,
    moderation: str | None = None,
    partial_images: int | None = None,
) -> GenerateOptions:
    """Every option of a generation against the contract, then against ``model``."""
    fmt = choice("output_format", output_format, OUTPUT_FORMATS, "png")
    quality_ = choice("quality", quality, QUALITIES, "auto")
    background_ = choice("background", background, BACKGROUNDS, "auto")
    _bounded("n", n, 1, N_MAX)
    _bounded("output_compression", output_compression, 0, COMPRESSION_MAX)
    if moderation is not None:
        choice("moderation", moderation, MODERATIONS, "auto")
    _model_choice("size", size, model, model.sizes)
    _model_choice("quality", quality_, model, model.qualities)
    _model_choice("output_format", fmt, model, model.output_formats)
    if n is not None and n > model.max_n:
        raise _model_refuses("n", model, f"makes at most {model.max_n} images per request")
    if output_compression is not None:
        if not model.output_compression:
            raise _model_refuses("output_compression", model, "does not take output_compression")
        if fmt not in COMPRESSIBLE_FORMATS:
            raise Invalid(
                "output_compression applies to the jpeg and webp output formats only",
                details={
                    "output_compression": f"only with output_format {_listed(COMPRESSIBLE_FORMATS)}"
                },
            )
    _model_choice("moderation", moderation, model, model.moderation)
    return GenerateOptions(
        size=size if size is not None else default_size(model),
        quality=quality_,
        background=background_,
        output_format=fmt,
        n=n or 1,
        output_compression=output_compression,
        moderation=moderation,
        partial_images=_previews(model, partial_images),
    )


def check_edit(
    model: ModelCapabilities,
    *,
    size: str | None,
    quality: str | None,
    default_size: str,
    has_mask: bool,
    input_fidelity: str | None = None,
    partial_images: int | None = None,
) -> EditOptions:
    """An edit's options against the contract, then against the model that makes it."""
    quality_ = choice("quality", quality, QUALITIES, "auto")
    if input_fidelity is not None:
        choice("input_fidelity", input_fidelity, INPUT_FIDELITIES, "low")
    if not model.supports_edit:
        raise _model_refuses("model", model, "does not edit images")
    if has_mask and not model.supports_mask:
        raise _model_refuses("mask", model, "takes no mask")
    _model_choice("size", size, model, model.sizes)
    _model_choice("quality", quality_, model, model.qualities)
    _model_choice("input_fidelity", input_fidelity, model, model.input_fidelity)
    return EditOptions(
        size=size if size is not None else default_size,
        quality=quality_,
        input_fidelity=input_fidelity,
        partial_images=_previews(model, partial_images),
    )


def options_of(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The provider options a job's payload keeps (``job_options``)."""
    options = payload.get("options")
    return dict(options) if isinstance(options, Mapping) else {}
