"""``ProceduralProvider``: the offline ``ImageProvider``, drawing with Pillow.

Pictures are deterministic: the same prompt, size and quality give the same bytes.
Two markers in a prompt let tests exercise the failure paths end to end:
``[reject]`` raises ``ProviderRejected`` and ``[flaky]`` raises
``ProviderUnavailable`` (the ``fail_prompts`` option lists the markers honoured).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from PIL import Image

from rankion_core.errors import Invalid, ProviderRejected, ProviderUnavailable
from rankion_core.ports import EditSpec, GenerateSpec, ImageProvider, ProviderImage

from .codec import open_image
from .effects import apply_effects, apply_mask
from .encode import encode, parse_size
from .scene import render

__all__ = ["ProceduralProvider", "open_provider"]

_MARKERS = ("reject", "flaky")


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
    models: Sequence[str] = ("procedural-v1",)
    default_model: str = "procedural-v1"
    sizes: Sequence[str] = ("auto", "256x256", "512x512", "1024x1024", "1536x1024", "1024x1536")

    def __init__(self, *, delay: float = 0.0, fail_prompts: str = "reject,flaky") -> None:
        if delay < 0:
            raise Invalid("delay must not be negative")
        self.delay = delay
        self.fail_markers = _parse_markers(fail_prompts)

    async def generate(self, spec: GenerateSpec) -> ProviderImage:
        await self._before(spec.prompt)
        width, height = parse_size(spec.size, self.sizes)
        data = await asyncio.to_thread(_generate, spec, width, height)
        return ProviderImage(data=data)

    async def edit(self, source: bytes, spec: EditSpec) -> ProviderImage:
        """The source with the prompt's edit applied; its dimensions are kept
        (``spec.size`` is not a resize request)."""
        await self._before(spec.prompt)
        data = await asyncio.to_thread(_edit, source, spec)
        return ProviderImage(data=data)

    async def close(self) -> None:
        return None

    async def _before(self, prompt: str) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        if "reject" in self.fail_markers and "[reject]" in prompt:
            raise ProviderRejected("the prompt was rejected by the content policy")
        if "flaky" in self.fail_markers and "[flaky]" in prompt:
            raise ProviderUnavailable("the procedural provider is having a flaky moment")


def _generate(spec: GenerateSpec, width: int, height: int) -> bytes:
    transparent = spec.background == "transparent"
    picture = render(spec.prompt, width, height, spec.quality, transparent=transparent)
    return encode(picture, spec.output_format)


def _decode(data: bytes, what: str) -> Image.Image:
    try:
        return open_image(data)
    except Invalid as exc:
        raise ProviderRejected(f"the {what} could not be used: {exc.message}") from None


def _edit(source: bytes, spec: EditSpec) -> bytes:
    original = _decode(source, "source image")
    alpha = None
    if "A" in original.getbands() or "transparency" in original.info:
        original = original.convert("RGBA")
        alpha = original.getchannel("A")
    rgb = original if original.mode == "RGB" else original.convert("RGB")
    edited = apply_effects(rgb, spec.prompt)
    if spec.mask is not None:
        mask = _decode(spec.mask, "mask")
        if mask.size != rgb.size:
            raise ProviderRejected("the mask must have the same dimensions as the image")
        edited = apply_mask(rgb, edited, mask)
    if alpha is not None:
        edited.putalpha(alpha)
    return encode(edited, spec.output_format)


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
        fail_prompts=str(options.get("fail_prompts", "reject,flaky")),
    )


if TYPE_CHECKING:  # mypy proves the class fits the port structurally

    def _fits_the_port(implementation: ProceduralProvider) -> ImageProvider:
        return implementation
