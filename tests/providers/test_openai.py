"""The OpenAI provider, with the real SDK talking to a fake Images API on 127.0.0.1."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from importlib.metadata import entry_points
from typing import Any

import pytest
from PIL import Image

from rankion_core.errors import Invalid, ProviderRejected, ProviderUnavailable
from rankion_core.ports import EditSpec, GenerateSpec
from rankion_openai import OpenAIProvider, load_config, open_provider
from rankion_openai.errors import parse_retry_after
from rankion_openai.provider import load_sdk
from tests.support.fake_openai import (
    MODERATION_MESSAGE,
    Behaviour,
    FakeOpenAI,
    moderation_blocked,
    ok,
    rate_limited,
    server_error,
    slow,
)

OpenProvider = Callable[..., OpenAIProvider]


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def make_provider(fake: FakeOpenAI) -> AsyncIterator[OpenProvider]:
    opened: list[OpenAIProvider] = []

    def make(**options: Any) -> OpenAIProvider:
        options = {"api_key": "test", "base_url": fake.base_url, **options}
        provider = open_provider(**options)
        opened.append(provider)
        return provider

    yield make
    for provider in opened:
        await provider.close()


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 100, 50, 0) if mode == "RGBA" else (200, 100, 50)).save(out, "PNG")
    return out.getvalue()


def _gen(**overrides: Any) -> GenerateSpec:
    fields: dict[str, Any] = {
        "prompt": "a lighthouse in a storm",
        "model": "gpt-image-1",
        "size": "1536x1024",
        "quality": "high",
        "output_format": "png",
    }
    return GenerateSpec(**{**fields, **overrides})


# --------------------------------------------------------------------------- success


async def test_generate_sends_the_spec_and_returns_decodable_bytes(
    fake: FakeOpenAI, make_provider: OpenProvider
) -> None:
    result = await make_provider().generate(_gen(background="transparent"))

    with Image.open(io.BytesIO(result.data)) as image:
        assert (image.format, image.size) == ("PNG", (1536, 1024))
    [request] = fake.requests
    assert request.path == "/v1/images/generations"
    assert request.headers["authorization"] == "Bearer test"
    assert request.json == {
        "prompt": "a lighthouse in a storm",
        "model": "gpt-image-1",
        "size": "1536x1024",
        "quality": "high",
        "output_format": "png",
        "background": "transparent",
        "n": 1,
    }


async def test_generate_leaves_background_out_when_unset(
    fake: FakeOpenAI, make_provider: OpenProvider
) -> None:
    result = await make_provider().generate(_gen(output_format="jpeg", size="auto"))

    assert fake.requests[0].json is not None
    assert "background" not in fake.requests[0].json
    with Image.open(io.BytesIO(result.data)) as image:
        assert (image.format, image.size) == ("JPEG", (1024, 1024))


async def test_edit_uploads_image_and_mask_as_multipart(
    fake: FakeOpenAI, make_provider: OpenProvider
) -> None:
    source, mask = _png((1024, 1024)), _png((1024, 1024), "RGBA")
    spec = EditSpec("make it golden hour", "gpt-image-1-mini", "1024x1024", "medium", mask=mask)

    result = await make_provider().edit(source, spec)

    with Image.open(io.BytesIO(result.data)) as image:
        assert image.size == (1024, 1024)
    [request] = fake.requests
    assert request.path == "/v1/images/edits"
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert request.files["image"].data == source
    assert request.files["image"].content_type == "image/png"
    assert request.files["mask"].data == mask
    assert request.fields["prompt"] == "make it golden hour"
    assert request.fields["model"] == "gpt-image-1-mini"
    assert request.fields["size"] == "1024x1024"
    assert request.fields["quality"] == "medium"
    assert request.fields["output_format"] == "png"


async def test_edit_without_mask_sends_no_mask(
    fake: FakeOpenAI, make_provider: OpenProvider
) -> None:
    spec = EditSpec("add a boat", "gpt-image-1", "auto", "low")
    await make_provider().edit(_png((512, 512)), spec)

    assert set(fake.requests[0].files) == {"image"}


# --------------------------------------------------------------------------- refusals


async def test_content_policy_is_rejected_with_the_api_message_and_not_retried(
    fake: FakeOpenAI, make_provider: OpenProvider
) -> None:
    fake.queue(moderation_blocked())

    with pytest.raises(ProviderRejected) as caught:
        await make_provider().generate(_gen())

    assert caught.value.message == MODERATION_MESSAGE
    assert "Error code" not in str(caught.value)
    assert len(fake.requests) == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_a_refused_key_is_rejected(
    fake: FakeOpenAI, make_provider: OpenProvider, status: int
) -> None:
    fake.queue(Behaviour(status=status, error={"message": "Incorrect API key provided: sk-…"}))

    with pytest.raises(ProviderRejected, match="refused the API key"):
        await make_provider().generate(_gen())


async def test_an_error_without_a_message_still_reads_well(
    fake: FakeOpenAI, make_provider: OpenProvider
) -> None:
    fake.queue(Behaviour(status=422, error={"type": "invalid_request_error"}))

    with pytest.raises(ProviderRejected, match=r"rejected the request \(HTTP 422\)"):
        await make_provider().generate(_gen())


# --------------------------------------------------------------------------- transient


async def test_the_sdk_never_retries_unless_told_to(
    fake: FakeOpenAI, make_provider: OpenProvider
) -> None:
    """Retries belong to the job queue (each attempt billed at most once): by default
    one call is one request, and its ``retry-after`` goes back to the queue."""
    fake.queue(rate_limited(retry_after=0.2), ok())

    with pytest.raises(ProviderUnavailable) as caught:
        await make_provider().generate(_gen())

    assert caught.value.retry_after == pytest.approx(0.2)
    assert [r.headers.get("x-stainless-retry-count") for r in fake.requests] == ["0"]


async def test_rate_limit_then_success_waits_for_retry_after(
    fake: FakeOpenAI, make_provider: OpenProvider
) -> None:
    fake.queue(rate_limited(retry_after=0.2), ok())

    started = time.monotonic()
    result = await make_provider(max_retries=1).generate(_gen())

    assert time.monotonic() - started >= 0.2
    assert result.data.startswith(b"\x89PNG")
    assert [r.headers.get("x-stainless-retry-count") for r in fake.requests] == ["0", "1"]


async def test_persistent_rate_limit_is_unavailable_with_retry_after(
    fake: FakeOpenAI, make_provider: OpenProvider
) -> None:
    fake.queue(*[rate_limited(retry_after=0.05)] * 5)

    with pytest.raises(ProviderUnavailable) as caught:
        await make_provider(max_retries=1).generate(_gen())

    assert caught.value.retry_after == pytest.approx(0.05)
    assert len(fake.requests) == 2


@pytest.mark.parametrize(("max_retries", "attempts"), [(0, 1), (2, 3)])
async def test_persistent_server_error_gives_up_after_bounded_attempts(
    fake: FakeOpenAI, make_provider: OpenProvider, max_retries: int, attempts: int
) -> None:
    fake.queue(*[server_error()] * 10)

    with pytest.raises(ProviderUnavailable, match="HTTP 500"):
        await make_provider(max_retries=max_retries).generate(_gen())

    assert len(fake.requests) == attempts


async def test_timeout_is_unavailable(fake: FakeOpenAI, make_provider: OpenProvider) -> None:
    fake.queue(slow(10), slow(10))

    started = time.monotonic()
    with pytest.raises(ProviderUnavailable, match="did not answer in time"):
        await make_provider(timeout="0.3", max_retries="1").generate(_gen())

    assert time.monotonic() - started < 5
    assert len(fake.requests) == 2


async def test_unreachable_server_is_unavailable() -> None:
    provider = open_provider(api_key="test", base_url="http://127.0.0.1:9/v1", max_retries=0)
    try:
        with pytest.raises(ProviderUnavailable, match="could not reach"):
            await provider.generate(_gen())
    finally:
        await provider.close()


# --------------------------------------------------------------------------- odd answers


async def test_an_answer_without_image_data_is_unavailable(
    fake: FakeOpenAI, make_provider: OpenProvider
) -> None:
    fake.queue(Behaviour(empty=True))

    with pytest.raises(ProviderUnavailable, match="without an image"):
        await make_provider().generate(_gen())


async def test_an_image_url_to_a_private_host_is_never_fetched(
    fake: FakeOpenAI, make_provider: OpenProvider
) -> None:
    fake.queue(Behaviour(url=f"{fake.base_url}/secret.png"))

    with pytest.raises(ProviderRejected, match="refusing to fetch"):
        await make_provider().generate(_gen())

    assert [r.path for r in fake.requests] == ["/v1/images/generations"]


# --------------------------------------------------------------------------- configuration


def test_options_arrive_as_strings_and_the_environment_fills_gaps() -> None:
    env = {"OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": "http://proxy.example/v1"}
    options = {"timeout": "7.5", "max_retries": "1", "models": "gpt-image-1, gpt-image-1.5"}
    config = load_config(options, env)

    assert (config.api_key, config.base_url) == ("sk-env", "http://proxy.example/v1")
    assert config.models == ("gpt-image-1", "gpt-image-1.5")
    assert (config.default_model, config.timeout, config.max_retries) == ("gpt-image-1", 7.5, 1)
    assert "sk-env" not in repr(config)


def test_retries_stay_bounded() -> None:
    assert load_config({"api_key": "k", "max_retries": "1000"}, {}).max_retries == 10


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"api_key": "k", "timeout": "soon"},
        {"api_key": "k", "max_retries": "-1"},
        {"api_key": "k", "models": "gpt-image-1", "default_model": "dall-e-3"},
        {"api_key": "k", "colour": "blue"},
    ],
)
def test_bad_configuration_is_invalid(options: dict[str, Any]) -> None:
    with pytest.raises(Invalid):
        load_config(options, {})


def test_missing_sdk_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)

    with pytest.raises(ImportError, match=r"pip install 'rankion\[openai\]'"):
        load_sdk()


def test_importing_the_backend_does_not_import_the_sdk() -> None:
    code = "import sys, rankion_openai; print('openai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


async def test_the_entry_point_opens_the_provider(fake: FakeOpenAI) -> None:
    [entry] = [e for e in entry_points(group="rankion.providers") if e.name == "openai"]
    provider = entry.load()(api_key="test", base_url=fake.base_url, models="gpt-image-1")
    try:
        ids = tuple(m.id for m in provider.capabilities)
        assert (provider.name, ids, provider.default_model) == (
            "openai",
            ("gpt-image-1",),
            "gpt-image-1",
        )
        assert "auto" in provider.capabilities[0].sizes
    finally:
        await provider.close()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_is_read_from_either_header(
    headers: dict[str, str], expected: float | None
) -> None:
    assert parse_retry_after(headers) == expected
