"""The provider and codec contracts (``rankion_core.testing.ProviderContract`` and
``CodecContract``) on the built-in backends: the procedural provider, the OpenAI
provider against a fake Images API on 127.0.0.1, and the Pillow codec. What only
one of them does is tested in ``tests/providers/``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from rankion_core.ports import ImageCodec, ImageProvider
from rankion_core.testing import CodecContract, ProviderContract
from rankion_openai import open_provider as open_openai
from rankion_procedural import PillowCodec, ProceduralProvider
from tests.support.fake_openai import FakeOpenAI, moderation_blocked


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


class TestProceduralProvider(ProviderContract):
    refused_prompt = "[reject] a lighthouse"

    async def make_provider(self) -> ImageProvider:
        return ProceduralProvider()

    def make_codec(self) -> ImageCodec:
        return PillowCodec()


@pytest.mark.usefixtures("fake_openai")
class TestOpenAIProvider(ProviderContract):
    refused_prompt = "a lighthouse the fake's moderation blocks"

    async def make_provider(self) -> ImageProvider:
        fake: FakeOpenAI = self.request.getfixturevalue("fake_openai")
        return open_openai(api_key="test", base_url=fake.base_url)

    def make_codec(self) -> ImageCodec:
        return PillowCodec()

    async def test_a_refusal_is_provider_rejected(
        self, provider: ImageProvider, fake_openai: FakeOpenAI
    ) -> None:
        fake_openai.queue(moderation_blocked())
        await super().test_a_refusal_is_provider_rejected(provider)


class TestPillowCodec(CodecContract):
    def make_codec(self) -> ImageCodec:
        return PillowCodec()
