"""The generation options on the OpenAI provider: the real SDK against the fake Images
API. Options go out as the API names them and only when asked; previews stream as the
API's ``*.partial_image`` events and only the ``*.completed`` image is returned; what
the API refuses is a ``ProviderRejected`` after exactly one request (the SDK does not
retry); and what each model declares agrees with what the API takes."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from PIL import Image

from rankion_core import Actor, Deps, HmacUrlSigner, Rankion
from rankion_core.errors import ProviderRejected
from rankion_core.ports import EditSpec, GenerateSpec
from rankion_core.rules.limits import INPUT_FIDELITIES
from rankion_core.services.creation import GenerateRequest
from rankion_fsspec import open_blob_store
from rankion_memory import MemoryStorage
from rankion_openai import OpenAIProvider, open_provider
from rankion_procedural import PillowCodec
from rankion_server.maintenance_checks import orphan_blobs
from tests.support.fake_openai import FINAL_COLOUR, FakeOpenAI, partial_colour, refusal

OpenProvider = Callable[..., OpenAIProvider]
MODELS = "gpt-image-1,gpt-image-1-mini,gpt-image-2"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def provider(fake: FakeOpenAI) -> AsyncIterator[OpenAIProvider]:
    made = open_provider(api_key="test", base_url=fake.base_url, models=MODELS)
    yield made
    await made.close()


def _gen(**overrides: Any) -> GenerateSpec:
    fields: dict[str, Any] = {
        "prompt": "a lighthouse",
        "model": "gpt-image-1",
        "size": "1024x1024",
        "quality": "low",
        "output_format": "png",
    }
    return GenerateSpec(**{**fields, **overrides})


def _edit(**overrides: Any) -> EditSpec:
    fields: dict[str, Any] = {
        "prompt": "at night",
        "model": "gpt-image-1",
        "size": "1024x1024",
        "quality": "low",
    }
    return EditSpec(**{**fields, **overrides})


def _colour(data: bytes) -> tuple[int, ...]:
    pixel = Image.open(io.BytesIO(data)).convert("RGB").getpixel((0, 0))
    assert isinstance(pixel, tuple)
    return pixel


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


class Frames:
    def __init__(self) -> None:
        self.got: list[tuple[int, bytes]] = []

    async def __call__(self, index: int, data: bytes) -> None:
        self.got.append((index, data))


async def test_generation_options_are_sent_as_the_api_names_them(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    spec = _gen(output_format="webp", output_compression=40, moderation="low")
    await provider.generate(spec)
    sent = fake.requests[-1].json or {}
    assert (sent["output_compression"], sent["moderation"], sent["n"]) == (40, "low", 1)
    assert "stream" not in sent and "partial_images" not in sent


async def test_options_not_asked_for_are_not_sent(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    await provider.generate(_gen(partial_images=2))  # no sink: no stream
    sent = fake.requests[-1].json or {}
    absent = {"output_compression", "moderation", "stream", "partial_images", "background"}
    assert not absent & set(sent)
    await provider.edit(_png(), _edit())
    assert "input_fidelity" not in fake.requests[-1].fields


async def test_input_fidelity_goes_with_the_edit(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    await provider.edit(_png(), _edit(input_fidelity="high"))
    fields = fake.requests[-1].fields
    assert (fields["input_fidelity"], fields["n"]) == ("high", "1")


async def test_partial_images_stream_and_only_the_completed_image_is_returned(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    frames = Frames()
    made = await provider.generate(_gen(partial_images=3), frames)
    sent = fake.requests[-1].json or {}
    assert (sent["stream"], sent["partial_images"]) == (True, 3)
    assert [i for i, _ in frames.got] == [0, 1, 2]
    assert [_colour(d) for _, d in frames.got] == [partial_colour(i) for i in range(3)]
    assert _colour(made.data) == FINAL_COLOUR
    assert all(d != made.data for _, d in frames.got)


async def test_an_edit_streams_its_previews_too(fake: FakeOpenAI, provider: OpenAIProvider) -> None:
    frames = Frames()
    made = await provider.edit(_png(), _edit(partial_images=1, input_fidelity="low"), frames)
    fields = fake.requests[-1].fields
    assert (fields["stream"], fields["partial_images"]) == ("true", "1")
    assert [_colour(d) for _, d in frames.got] == [partial_colour(0)]
    assert _colour(made.data) == FINAL_COLOUR


@pytest.mark.parametrize(
    ("spec", "param"),
    [
        (_gen(output_compression=50), "output_compression"),  # png
        (_gen(output_format="jpeg", output_compression=101), "output_compression"),
        (_gen(moderation="high"), "moderation"),
    ],
)
async def test_what_the_api_refuses_is_rejected_after_one_request(
    fake: FakeOpenAI, provider: OpenAIProvider, spec: GenerateSpec, param: str
) -> None:
    with pytest.raises(ProviderRejected) as caught:
        await provider.generate(spec)
    assert len(fake.requests) == 1, "the SDK does not retry"
    assert param in caught.value.message


async def test_a_streamed_call_the_api_refuses_is_rejected(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    frames = Frames()
    with pytest.raises(ProviderRejected, match="Unknown parameter: 'input_fidelity'"):
        await provider.edit(_png(), _edit(model="gpt-image-2", input_fidelity="low"), frames)
    assert frames.got == [] and len(fake.requests) == 1


async def test_the_declared_capabilities_agree_with_what_the_api_takes(
    provider: OpenAIProvider,
) -> None:
    """Every value a model declares the API takes, and every other value of the
    contract's the API refuses: validation turns the API's 400s into 422s."""
    for model in provider.capabilities:
        for fidelity in INPUT_FIDELITIES:
            params = {"model": model.id, "input_fidelity": fidelity}
            assert (refusal(params) is None) == (fidelity in model.input_fidelity), params
        for moderation in model.moderation:
            assert refusal({"model": model.id, "moderation": moderation}) is None
        assert refusal({"n": str(model.max_n)}) is None
        assert refusal({"partial_images": str(model.partial_images)}) is None
        if model.output_compression:
            assert refusal({"output_format": "webp", "output_compression": "0"}) is None


async def test_a_job_on_the_openai_provider_streams_previews_and_keeps_the_completed_image(
    fake: FakeOpenAI, provider: OpenAIProvider
) -> None:
    """The whole path: the worker asks the SDK to stream, stores each partial image as
    a preview of the job, makes the image from the completed event only, and deletes
    the previews at the end."""
    deps = Deps(
        storage=MemoryStorage(),
        blobs=open_blob_store(f"memory://{uuid.uuid4().hex}"),
        provider=provider,
        codec=PillowCodec(),
        signer=HmacUrlSigner(b"0123456789abcdef0123", "http://test"),
    )
    app = Rankion(deps)
    actor = Actor((await app.accounts.create_team("acme", 100)).id)
    request = GenerateRequest(prompt="a lighthouse", size="1024x1024", partial_images=2)
    queued = await app.creation.generate(actor, request)
    seen: list[str] = []
    real_put = deps.blobs.put

    async def put(data: bytes, **kw: Any) -> str:
        key = await real_put(data, **kw)
        if kw["kind"].startswith("previews-"):
            assert _colour(data) != FINAL_COLOUR
            seen.append(key)
        return key

    deps.blobs.put = put  # type: ignore[method-assign]
    await app.run_pending()
    sent = fake.requests[-1].json or {}
    assert (sent["stream"], sent["partial_images"]) == (True, 2)
    image = (await app.gallery.detail(actor, queued.image_id)).view.image
    assert image.blob_key is not None
    assert _colour(await deps.blobs.get(image.blob_key)) == FINAL_COLOUR
    assert len(seen) == 2
    assert not [k for k in seen if await deps.blobs.exists(k)], "previews end with the job"
    assert await orphan_blobs(app) == set()
