"""The ``ImageProvider`` contract: it declares what each model takes
(``capabilities``), and every model, size, quality and output format the core may
ask for gives a whole picture; a model that makes partial images hands them to the
preview sink, in order, none of them the final image.

Subclass ``ProviderContract`` and implement ``make_provider`` and ``make_codec`` (the
codec your server runs, which decodes the pictures; ``rankion_procedural.PillowCodec``
is the built-in one). Set ``refused_prompt`` to a prompt your provider refuses, to
check that a refusal is ``ProviderRejected``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import pytest
import pytest_asyncio

from rankion_core.errors import ProviderRejected
from rankion_core.ports import (
    EditSpec,
    GenerateSpec,
    ImageCodec,
    ImageInfo,
    ImageProvider,
    ModelCapabilities,
)
from rankion_core.rules.generation import model_named

SIZE = re.compile(r"([1-9][0-9]*)x([1-9][0-9]*)")
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}
PROMPT = "a lighthouse at dusk, watercolour"


def default_model(provider: ImageProvider) -> ModelCapabilities:
    found = model_named(provider.capabilities, provider.default_model)
    assert found is not None, "the default model is one of the declared models"
    return found


def fixed_sizes(provider: ImageProvider) -> list[tuple[str, int, int]]:
    """The default model's ``WIDTHxHEIGHT`` sizes."""
    found = [(size, SIZE.fullmatch(size)) for size in default_model(provider).sizes]
    return [(size, int(m[1]), int(m[2])) for size, m in found if m is not None]


class ProviderContract:
    """Every provider test: subclass it and implement ``make_provider`` and
    ``make_codec``."""

    pytestmark = [pytest.mark.asyncio]
    request: pytest.FixtureRequest
    #: a prompt the provider refuses for good (``None``: not checked)
    refused_prompt: ClassVar[str | None] = None

    async def make_provider(self) -> ImageProvider:
        raise NotImplementedError(f"{type(self).__name__} must implement make_provider()")

    def make_codec(self) -> ImageCodec:
        raise NotImplementedError(f"{type(self).__name__} must implement make_codec()")

    @pytest_asyncio.fixture
    async def provider(self, request: pytest.FixtureRequest) -> AsyncIterator[ImageProvider]:
        self.request = request
        provider = await self.make_provider()
        try:
            yield provider
        finally:
            await provider.close()

    async def _generate(self, provider: ImageProvider, **fields: str) -> ImageInfo:
        values: dict[str, Any] = {"prompt": PROMPT, "model": provider.default_model}
        values["quality"] = "auto"
        values.update(fields)
        values.setdefault("size", fixed_sizes(provider)[0][0])
        made = await provider.generate(GenerateSpec(**values))
        return self.make_codec().inspect(made.data)

    async def test_it_declares_its_models(self, provider: ImageProvider) -> None:
        assert isinstance(provider.name, str)
        assert provider.name
        ids = [m.id for m in provider.capabilities]
        assert ids and len(ids) == len(set(ids)), "one entry per model"
        assert provider.default_model in ids
        for model in provider.capabilities:
            assert isinstance(model, ModelCapabilities)
            assert all(size == "auto" or SIZE.fullmatch(size) for size in model.sizes)
        assert fixed_sizes(provider), "at least one WIDTHxHEIGHT size"

    async def test_each_size_gives_a_picture_of_that_size(self, provider: ImageProvider) -> None:
        for size, width, height in fixed_sizes(provider):
            info = await self._generate(provider, size=size)
            assert (info.width, info.height) == (width, height), size
        if "auto" in default_model(provider).sizes:
            await self._generate(provider, size="auto")

    async def test_each_model_and_quality_gives_a_picture(self, provider: ImageProvider) -> None:
        for model in provider.capabilities:
            await self._generate(provider, model=model.id, size=model.sizes[-1])
        for quality in default_model(provider).qualities:
            await self._generate(provider, quality=quality)

    async def test_each_output_format_is_honoured(self, provider: ImageProvider) -> None:
        for output_format in default_model(provider).output_formats:
            info = await self._generate(provider, output_format=output_format)
            assert info.ext == EXTENSIONS[output_format], output_format

    async def test_partial_images_come_before_the_final_one(self, provider: ImageProvider) -> None:
        model = next((m for m in provider.capabilities if m.partial_images), None)
        if model is None:
            pytest.skip("no model of this provider makes partial images")
        size = next(s for s in model.sizes if SIZE.fullmatch(s))
        frames: list[tuple[int, bytes]] = []

        async def sink(index: int, data: bytes) -> None:
            frames.append((index, data))

        spec = GenerateSpec(PROMPT, model.id, size, "auto", partial_images=model.partial_images)
        final = (await provider.generate(spec, sink)).data
        assert 1 <= len(frames) <= model.partial_images
        assert [i for i, _ in frames] == list(range(len(frames)))
        codec = self.make_codec()
        for _, data in frames:
            assert codec.inspect(data).width > 0
            assert data != final, "a preview is never the final image"
        assert codec.inspect(final).width > 0
        # without a sink, no stream: the same call gives just the image
        assert codec.inspect((await provider.generate(spec)).data).width > 0

    async def test_an_edit_gives_a_picture(self, provider: ImageProvider) -> None:
        size, _, _ = fixed_sizes(provider)[0]
        spec = GenerateSpec(PROMPT, provider.default_model, size, "auto")
        source = (await provider.generate(spec)).data
        edit = EditSpec("the same at night", provider.default_model, size, "auto")
        edited = (await provider.edit(source, edit)).data
        assert self.make_codec().inspect(edited).width > 0

    async def test_a_refusal_is_provider_rejected(self, provider: ImageProvider) -> None:
        if self.refused_prompt is None:
            pytest.skip("no refused_prompt set for this provider")
        with pytest.raises(ProviderRejected):
            await self._generate(provider, prompt=self.refused_prompt)
