"""The ``ImageProvider`` contract: it names its models and sizes, and every model,
size, quality and output format the core may ask for gives a whole picture.

Subclass ``ProviderContract`` and implement ``make_provider`` and ``make_codec`` (the
codec your server runs, which decodes the pictures; ``rankion_procedural.PillowCodec``
is the built-in one). Set ``refused_prompt`` to a prompt your provider refuses, to
check that a refusal is ``ProviderRejected``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import ClassVar

import pytest
import pytest_asyncio

from rankion_core.errors import ProviderRejected
from rankion_core.ports import EditSpec, GenerateSpec, ImageCodec, ImageInfo, ImageProvider
from rankion_core.rules.limits import OUTPUT_FORMATS, QUALITIES

SIZE = re.compile(r"([1-9][0-9]*)x([1-9][0-9]*)")
EXTENSIONS = {"png": "png", "jpeg": "jpg", "webp": "webp"}
PROMPT = "a lighthouse at dusk, watercolour"


def fixed_sizes(provider: ImageProvider) -> list[tuple[str, int, int]]:
    found = [(size, SIZE.fullmatch(size)) for size in provider.sizes]
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
        values = {"prompt": PROMPT, "model": provider.default_model, "quality": "auto"}
        values.update(fields)
        values.setdefault("size", fixed_sizes(provider)[0][0])
        made = await provider.generate(GenerateSpec(**values))
        return self.make_codec().inspect(made.data)

    async def test_it_names_its_models_and_sizes(self, provider: ImageProvider) -> None:
        assert isinstance(provider.name, str)
        assert provider.name
        assert provider.models
        assert provider.default_model in provider.models
        assert all(size == "auto" or SIZE.fullmatch(size) for size in provider.sizes)
        assert fixed_sizes(provider), "at least one WIDTHxHEIGHT size"

    async def test_each_size_gives_a_picture_of_that_size(self, provider: ImageProvider) -> None:
        for size, width, height in fixed_sizes(provider):
            info = await self._generate(provider, size=size)
            assert (info.width, info.height) == (width, height), size
        if "auto" in provider.sizes:
            await self._generate(provider, size="auto")

    async def test_each_model_and_quality_gives_a_picture(self, provider: ImageProvider) -> None:
        for model in provider.models:
            await self._generate(provider, model=model)
        for quality in QUALITIES:
            await self._generate(provider, quality=quality)

    async def test_each_output_format_is_honoured(self, provider: ImageProvider) -> None:
        for output_format in OUTPUT_FORMATS:
            info = await self._generate(provider, output_format=output_format)
            assert info.ext == EXTENSIONS[output_format], output_format

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
