"""``ProceduralProvider``: the offline ``ImageProvider``, drawing with Pillow.

Pictures are deterministic: the same prompt, size and quality give the same bytes.
Markers in a prompt let tests exercise the failure paths end to end: ``[reject]``
raises ``ProviderRejected``, ``[flaky]`` raises ``ProviderUnavailable``, and
``[borderline]`` is refused at ``moderation`` ``auto`` but drawn at ``low`` (the
``fail_prompts`` option lists the markers honoured).

Its one model takes every generation option (``CAPABILITIES``). Partial images are
the final picture blurred, each sharper than the one before (the last preview is
still blurred: a preview is never the final image); ``delay`` is spread over them, so
a slow provider shows its previews while it works. ``output_compression`` is the
JPEG/WebP encoder's quality; ``input_fidelity`` ``high`` keeps more of the source in
an edit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageFilter

from rankion_core.errors import Invalid, ProviderRejected, ProviderUnavailable
from rankion_core.ports import (
    EditSpec,
    GenerateSpec,
    ImageProvider,
    ModelCapabilities,
    PreviewSink,
    ProviderImage,
)
from rankion_core.rules.limits import INPUT_FIDELITIES, MODERATIONS, N_MAX, PARTIAL_IMAGES_MAX

from .codec import open_image
from .effects import apply_effects, apply_mask
from .encode import encode, parse_size
from .scene import render

__all__ = ["ProceduralProvider", "open_provider"]

_MARKERS = ("reject", "flaky", "borderline")
_DEFAULT_MARKERS = ",".join(_MARKERS)

#: what its one model takes: everything the contract allows
CAPABILITIES = (
    ModelCapabilities(
        id="procedural-v1",
        sizes=("auto", "256x256", "512x512", "1024x1024", "1536x1024", "1024x1536"),
        max_n=N_MAX,
        supports_edit=True,
        supports_mask=True,
        partial_images=PARTIAL_IMAGES_MAX,
        input_fidelity=INPUT_FIDELITIES,
        moderation=MODERATIONS,
        output_compression=True,
    ),
)
#: the blur radius of each preview as a share of the picture's shorter side, the
#: first the most blurred (a preview of ``k`` images takes the last ``k``)
_PREVIEW_BLUR = (1 / 16, 1 / 32, 1 / 64)


_ALL = frozenset({"all", "on", "true", "1", "yes"})
_NONE = frozenset({"", "none", "off", "false", "0", "no"})


def _parse_markers(value: str) -> frozenset[str]:
    """``"reject,flaky"`` (brackets optional), ``"all"``, or ``"none"``."""
    names = {part.strip().strip("[]").lower() for part in value.split(",")}
    if names & _ALL:
        return frozenset(_MARKERS)
    unknown = names - {*_MARKERS, *_NONE}
    if unknown:
        raise Invalid(f"unknown fail_prompts marker(s): {', '.join(sorted(unknown))}")
    return frozenset(names & set(_MARKERS))


class ProceduralProvider:
    # annotated as the port declares them: Protocol attributes are invariant
    name: str = "procedural"
    default_model: str = "procedural-v1"
    capabilities: Sequence[ModelCapabilities] = CAPABILITIES

    def __init__(self, *, delay: float = 0.0, fail_prompts: str = _DEFAULT_MARKERS) -> None:
        if delay < 0:
            raise Invalid("delay must not be negative")
        self.delay = delay
        self.fail_markers = _parse_markers(fail_prompts)

    async def generate(
        self, spec: GenerateSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        self._check(spec.prompt, spec.moderation)
        width, height = parse_size(spec.size, CAPABILITIES[0].sizes)
        picture = await asyncio.to_thread(_draw, spec, width, height)
        return await self._deliver(picture, spec.output_format, spec, previews)

    async def edit(
        self, source: bytes, spec: EditSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        """The source with the prompt's edit applied; its dimensions are kept
        (``spec.size`` is not a resize request)."""
        self._check(spec.prompt, None)
        picture = await asyncio.to_thread(_edit, source, spec)
        return await self._deliver(picture, spec.output_format, spec, previews)

    async def close(self) -> None:
        return None

    def _check(self, prompt: str, moderation: str | None) -> None:
        if "reject" in self.fail_markers and "[reject]" in prompt:
            raise ProviderRejected("the prompt was rejected by the content policy")
        if "borderline" in self.fail_markers and "[borderline]" in prompt and moderation != "low":
            raise ProviderRejected(
                "the prompt was rejected by the content policy (moderation auto)"
            )
        if "flaky" in self.fail_markers and "[flaky]" in prompt:
            raise ProviderUnavailable("the procedural provider is having a flaky moment")

    async def _deliver(
        self,
        picture: Image.Image,
        output_format: str,
        spec: GenerateSpec | EditSpec,
        previews: PreviewSink | None,
    ) -> ProviderImage:
        """The previews (each after its share of ``delay``), then the final image."""
        count = spec.partial_images if previews is not None else 0
        steps = count + 1
        compression = getattr(spec, "output_compression", None)
        for index, share in enumerate(_PREVIEW_BLUR[len(_PREVIEW_BLUR) - count :]):
            await self._wait(steps)
            frame = await asyncio.to_thread(_blurred, picture, share, output_format, compression)
            assert previews is not None
            await previews(index, frame)
        await self._wait(steps)
        data = await asyncio.to_thread(encode, picture, output_format, compression)
        return ProviderImage(data=data)

    async def _wait(self, steps: int) -> None:
        if self.delay:
            await asyncio.sleep(self.delay / steps)


def _blurred(
    picture: Image.Image, share: float, output_format: str, compression: int | None
) -> bytes:
    radius = max(1.0, min(picture.size) * share)
    return encode(picture.filter(ImageFilter.GaussianBlur(radius)), output_format, compression)


def _draw(spec: GenerateSpec, width: int, height: int) -> Image.Image:
    transparent = spec.background == "transparent"
    return render(spec.prompt, width, height, spec.quality, transparent=transparent)


def _decode(data: bytes, what: str) -> Image.Image:
    try:
        return open_image(data)
    except Invalid as exc:
        raise ProviderRejected(f"the {what} could not be used: {exc.message}") from None


#: how much of the source an edit keeps, by ``input_fidelity`` (None: as ``low``)
_KEPT = {"high": 0.5, "low": 0.0}


def _edit(source: bytes, spec: EditSpec) -> Image.Image:
    original = _decode(source, "source image")
    alpha = None
    if "A" in original.getbands() or "transparency" in original.info:
        original = original.convert("RGBA")
        alpha = original.getchannel("A")
    rgb = original if original.mode == "RGB" else original.convert("RGB")
    edited = apply_effects(rgb, spec.prompt)
    kept = _KEPT.get(spec.input_fidelity or "low", 0.0)
    if kept:
        edited = Image.blend(edited, rgb, kept)
    if spec.mask is not None:
        mask = _decode(spec.mask, "mask")
        if mask.size != rgb.size:
            raise ProviderRejected("the mask must have the same dimensions as the image")
        edited = apply_mask(rgb, edited, mask)
    if alpha is not None:
        edited.putalpha(alpha)
    return edited


def _as_float(name: str, value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Invalid(f"the procedural provider's {name} must be a number, not {value!r}") from None


def open_provider(**options: Any) -> ProceduralProvider:
    """Entry point ``rankion.providers:procedural``; options may come as strings."""
    unknown = set(options) - {"delay", "fail_prompts"}
    if unknown:
        raise Invalid(f"unknown procedural provider option(s): {', '.join(sorted(unknown))}")
    return ProceduralProvider(
        delay=_as_float("delay", options.get("delay", 0.0)),
        fail_prompts=str(options.get("fail_prompts", _DEFAULT_MARKERS)),
    )


if TYPE_CHECKING:  # mypy proves the class fits the port structurally

    def _fits_the_port(implementation: ProceduralProvider) -> ImageProvider:
        return implementation
