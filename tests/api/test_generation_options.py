"""The generation options over HTTP: ``GET /v1/models`` serves what the provider
declares, each option is bounded by the contract and then by the chosen model (``422``
naming the field, and the model when it is the model's limit), ``n`` queues one image
and one job per image, each charged, and the options reach the provider's call."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from attrs import evolve

from rankion_client import Client
from rankion_core.ports import (
    EditSpec,
    GenerateSpec,
    ImageProvider,
    ModelCapabilities,
    PreviewSink,
    ProviderImage,
)
from rankion_procedural.provider import CAPABILITIES

from .conftest import Api, make_team, png_mask

#: a model that takes none of the options: one image, no previews, no mask
PLAIN = ModelCapabilities(
    id="plain-1", sizes=("256x256",), output_formats=("png", "jpeg"), supports_mask=False
)


class Recording:
    """The running provider, with the specs it was called with kept, and (optionally)
    another model declared beside its own."""

    def __init__(self, inner: ImageProvider, extra: tuple[ModelCapabilities, ...] = ()) -> None:
        self.inner = inner
        self.specs: list[GenerateSpec | EditSpec] = []
        self.capabilities = (*inner.capabilities, *extra)

    async def generate(
        self, spec: GenerateSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        self.specs.append(spec)
        if spec.model == PLAIN.id:
            spec = evolve(spec, model=CAPABILITIES[0].id)
        return await self.inner.generate(spec, previews)

    async def edit(
        self, source: bytes, spec: EditSpec, previews: PreviewSink | None = None
    ) -> ProviderImage:
        self.specs.append(spec)
        return await self.inner.edit(source, spec, previews)


@pytest.fixture
def recording(api: Api, monkeypatch: pytest.MonkeyPatch) -> Recording:
    """The running core's provider (its ``Deps`` are frozen) records from now on, and
    declares ``PLAIN`` beside its own model."""
    provider = api.rankion.deps.provider
    spy = Recording(copy.copy(provider), (PLAIN,))
    monkeypatch.setattr(provider, "generate", spy.generate)
    monkeypatch.setattr(provider, "edit", spy.edit)
    monkeypatch.setattr(provider, "capabilities", spy.capabilities)
    return spy


async def test_models_lists_what_the_provider_declares(api: Api) -> None:
    answer = await api.get("/v1/models")
    assert answer.status == 200
    [model] = answer.data
    declared = CAPABILITIES[0]
    assert model == {
        "id": declared.id,
        "sizes": list(declared.sizes),
        "qualities": list(declared.qualities),
        "output_formats": list(declared.output_formats),
        "max_n": 4,
        "supports_edit": True,
        "supports_mask": True,
        "partial_images": 3,
        "input_fidelity": ["high", "low"],
        "moderation": ["auto", "low"],
        "output_compression": True,
        "default": True,
    }
    assert (await api.get("/v1/models", anonymous=True)).status == 401


async def test_models_follow_the_provider(api: Api, recording: Recording) -> None:
    ids = [m["id"] for m in (await api.get("/v1/models")).data]
    assert ids == [CAPABILITIES[0].id, PLAIN.id]
    plain = (await api.get("/v1/models")).data[1]
    assert (plain["max_n"], plain["partial_images"], plain["default"]) == (1, 0, False)


async def test_n_queues_one_image_and_one_job_each_charged(flow_api: Api) -> None:
    api = flow_api
    answer = await api.post("/v1/generate/image", {"prompt": "a fox", "size": "256x256", "n": 3})
    assert answer.status == 202, answer.body
    data = answer.data
    images = data["images"]
    assert len(images) == 3
    assert images[0] == {"image_id": data["image_id"], "job_id": data["job_id"]}
    assert len({i["image_id"] for i in images}) == len({i["job_id"] for i in images}) == 3
    assert (data["credits_charged"], data["credits_remaining"]) == (15, 985)
    ledger = (await api.get("/v1/credits/ledger")).data
    charges = sorted((e["job_id"], e["image_id"], e["delta"]) for e in ledger if e["job_id"])
    assert charges == sorted((i["job_id"], i["image_id"], -5) for i in images)
    assert await api.run_jobs() == 3
    made = [await api.image(i["image_id"]) for i in images]
    assert {m["processing_status"] for m in made} == {"ready"}
    assert {m["credits_charged"] for m in made} == {5}
    assert (await api.get("/v1/credits")).data["balance"] == 985


async def test_n_fails_and_refunds_each_image_on_its_own(flow_api: Api) -> None:
    api = flow_api
    body = {"prompt": "[reject] a fox", "size": "256x256", "n": 2}
    answer = await api.post("/v1/generate/image", body)
    assert answer.status == 202
    await api.run_jobs()
    for queued in answer.data["images"]:
        image = await api.image(queued["image_id"])
        assert (image["processing_status"], image["credits_charged"]) == ("failed", 0)
    ledger = (await api.get("/v1/credits/ledger")).data
    refunds = sorted(e["job_id"] for e in ledger if e["reason"] == "refund")
    assert refunds == sorted(i["job_id"] for i in answer.data["images"])
    assert (await api.get("/v1/credits")).data["balance"] == 1000


async def test_n_past_the_balance_is_402_and_changes_nothing(api: Api) -> None:
    poor = await make_team(api.rankion, "poor", 12)
    answer = await api.post("/v1/generate/image", {"prompt": "a fox", "n": 3}, team=poor)
    assert answer.status == 402
    assert answer.error["details"] == {"needed": 15, "balance": 12}
    assert (await api.get("/v1/credits", team=poor)).data["balance"] == 12
    assert (await api.get("/v1/images", team=poor)).json["meta"]["total"] == 0
    answer = await api.post("/v1/generate/image", {"prompt": "a fox", "n": 2}, team=poor)
    assert answer.status == 202
    assert (await api.get("/v1/credits", team=poor)).data["balance"] == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("n", 0),
        ("n", 5),
        ("n", "2"),
        ("output_compression", -1),
        ("output_compression", 101),
        ("moderation", "high"),
        ("partial_images", 4),
        ("partial_images", -1),
    ],
)
async def test_a_value_outside_the_contract_is_422_naming_the_field(
    api: Api, field: str, value: object
) -> None:
    body = {"prompt": "a fox", "output_format": "webp", field: value}
    answer = await api.post("/v1/generate/image", body)
    assert answer.status == 422, answer.body
    assert field in answer.error["details"]
    assert (await api.get("/v1/credits")).data["balance"] == 1000


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("n", 2, "at most 1 images"),
        ("partial_images", 1, "makes no partial images"),
        ("moderation", "low", "does not take moderation"),
        ("output_compression", 50, "does not take output_compression"),
        ("size", "1024x1024", "takes size 256x256"),
        ("output_format", "webp", "takes output_format png, jpeg"),
    ],
)
async def test_a_value_the_model_does_not_take_is_422_naming_the_model(
    api: Api, recording: Recording, field: str, value: object, words: str
) -> None:
    body = {"prompt": "a fox", "model": PLAIN.id, "output_format": "jpeg", field: value}
    answer = await api.post("/v1/generate/image", body)
    assert answer.status == 422, answer.body
    assert PLAIN.id in answer.error["message"] and words in answer.error["message"]
    assert field in answer.error["details"]
    assert recording.specs == []


async def test_output_compression_needs_jpeg_or_webp(api: Api) -> None:
    answer = await api.post("/v1/generate/image", {"prompt": "a fox", "output_compression": 50})
    assert answer.status == 422
    assert "jpeg and webp" in answer.error["message"]
    assert "output_compression" in answer.error["details"]


async def test_the_options_reach_the_provider(api: Api, recording: Recording) -> None:
    body = {
        "prompt": "a fox",
        "size": "256x256",
        "output_format": "jpeg",
        "output_compression": 35,
        "moderation": "low",
        "partial_images": 2,
    }
    image_id = await api.generate(**body)
    [spec] = recording.specs
    assert isinstance(spec, GenerateSpec)
    assert (spec.output_compression, spec.moderation, spec.partial_images) == (35, "low", 2)
    assert spec.output_format == "jpeg"
    small = (await api.image(image_id))["bytes"]
    plain = await api.image(await api.generate(**{**body, "output_compression": 100}))
    assert small < plain["bytes"], "a lower output_compression makes a smaller JPEG"


async def test_no_option_asked_none_sent(api: Api, recording: Recording) -> None:
    await api.generate()
    [spec] = recording.specs
    assert isinstance(spec, GenerateSpec)
    assert (spec.output_compression, spec.moderation, spec.partial_images) == (None, None, 0)


async def test_moderation_low_lets_a_borderline_prompt_through(api: Api) -> None:
    strict = await api.image(await api.generate(prompt="[borderline] a boxing match"))
    assert strict["processing_status"] == "failed"
    assert "moderation" in strict["error"]
    lenient = await api.generate(prompt="[borderline] a boxing match", moderation="low")
    assert (await api.image(lenient))["processing_status"] == "ready"


async def test_input_fidelity_reaches_the_edit_and_changes_it(
    api: Api, recording: Recording
) -> None:
    source = await api.generate()
    made = {}
    for fidelity in ("high", "low"):
        answer = await api.edit(source, prompt="at night", input_fidelity=fidelity)
        assert answer.status == 202, answer.body
        await api.run_jobs()
        made[fidelity] = await api.image(answer.data["image_id"])
    edits = [s for s in recording.specs if isinstance(s, EditSpec)]
    assert [s.input_fidelity for s in edits] == ["high", "low"]
    high = await api.fetch(made["high"]["url"])
    low = await api.fetch(made["low"]["url"])
    assert high.body != low.body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input_fidelity": "medium"}, "input_fidelity"),
        ({"partial_images": 9}, "partial_images"),
        ({"n": 2}, "n"),
    ],
)
async def test_edit_options_are_bounded(api: Api, body: dict[str, Any], field: str) -> None:
    source = await api.generate()
    answer = await api.edit(source, **body)
    assert answer.status == 422, answer.body
    assert field in answer.error["details"]


async def test_an_edit_with_a_mask_the_model_does_not_take_is_422(
    api: Api, recording: Recording
) -> None:
    source = await api.generate(model=PLAIN.id)
    answer = await api.edit(source, mask=png_mask())
    assert answer.status == 422, answer.body
    assert PLAIN.id in answer.error["message"] and "mask" in answer.error["details"]
    answer = await api.edit(source, input_fidelity="high")
    assert answer.status == 422
    assert PLAIN.id in answer.error["message"] and "input_fidelity" in answer.error["details"]


async def test_the_python_client_reads_models_and_sends_n(api: Api) -> None:
    base = str(api.client.make_url("/")).rstrip("/")
    async with Client(base, api.a.token) as client:
        [model] = await client.images.models()
        queued = await client.images.generate("a fox", size="256x256", n=2, moderation="low")
    assert (model.id, model.max_n, model.default) == (CAPABILITIES[0].id, 4, True)
    assert queued.images[0].image_id == queued.image_id
    assert len(queued.images) == 2 and queued.credits_charged == 10
