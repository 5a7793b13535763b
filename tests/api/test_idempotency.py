"""``Idempotency-Key`` on generate, edit and bulk export."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from .conftest import Api, make_team

GENERATE = "/v1/generate/image"


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def _balance(api: Api) -> int:
    return int((await api.get("/v1/credits")).data["balance"])


async def test_same_key_same_request_replays(api: Api) -> None:
    body = {"prompt": "a cat", "size": "256x256", "tags": ["a", "b"]}
    first = await api.post(GENERATE, body, headers=key("k-1"))
    assert first.status == 202
    assert "Idempotent-Replayed" not in first.headers
    reordered = b'{ "tags": ["a","b"],  "size":"256x256", "prompt": "a cat" }'
    again = await api.post(GENERATE, raw=reordered, headers=key("k-1"))
    assert again.status == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.body == first.body
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert await _balance(api) == 995
    assert (await api.get("/v1/images")).json["meta"]["total"] == 1


async def test_same_key_other_request_is_422(api: Api) -> None:
    await api.post(GENERATE, {"prompt": "a cat"}, headers=key("k-2"))
    other = await api.post(GENERATE, {"prompt": "a dog"}, headers=key("k-2"))
    assert other.status == 422
    assert other.error["code"] == "idempotency_key_reused"
    image_id = await api.generate()
    edit = await api.post(f"/v1/images/{image_id}/edit", {"prompt": "a cat"}, headers=key("k-2"))
    assert edit.error["code"] == "idempotency_key_reused"
    assert await _balance(api) == 990


async def test_keys_are_per_team(api: Api) -> None:
    await api.post(GENERATE, {"prompt": "a cat"}, headers=key("shared"))
    theirs = await api.post(GENERATE, {"prompt": "a cat"}, headers=key("shared"), team=api.b)
    assert theirs.status == 202
    assert "Idempotent-Replayed" not in theirs.headers


async def test_402_is_not_stored(api: Api) -> None:
    poor = await make_team(api.rankion, "poor", 2)
    refused = await api.post(GENERATE, {"prompt": "x"}, headers=key("k-3"), team=poor)
    assert refused.status == 402
    await api.rankion.accounts.grant(poor.id, 10)
    retried = await api.post(GENERATE, {"prompt": "x"}, headers=key("k-3"), team=poor)
    assert retried.status == 202
    assert "Idempotent-Replayed" not in retried.headers


async def test_422_is_not_stored(api: Api) -> None:
    bad = await api.post(GENERATE, {"prompt": "x", "size": "9x9"}, headers=key("k-4"))
    assert bad.status == 422
    fixed = await api.post(GENERATE, {"prompt": "x"}, headers=key("k-4"))
    assert fixed.status == 202
    assert "Idempotent-Replayed" not in fixed.headers


async def test_a_state_conflict_is_stored_and_replayed(api: Api) -> None:
    image_id = await api.generate(run=False)
    path = f"/v1/images/{image_id}/edit"
    first = await api.post(path, {"prompt": "x"}, headers=key("k-5"))
    assert first.status == 409
    replay = await api.post(path, {"prompt": "x"}, headers=key("k-5"))
    assert replay.status == 409
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.body == first.body


@pytest.mark.parametrize("value", ["", "k" * 256])
async def test_key_length_is_checked(api: Api, value: str) -> None:
    answer = await api.post(GENERATE, {"prompt": "x"}, headers=key(value))
    assert answer.status == 422
    assert "Idempotency-Key" in answer.error["details"]
    assert await _balance(api) == 1000


async def test_a_255_char_key_is_fine(api: Api) -> None:
    assert (await api.post(GENERATE, {"prompt": "x"}, headers=key("k" * 255))).status == 202


async def test_keys_expire_after_24_hours(api: Api) -> None:
    await api.post(GENERATE, {"prompt": "x"}, headers=key("k-6"))
    api.clock.advance(timedelta(hours=24, minutes=1))
    again = await api.post(GENERATE, {"prompt": "x"}, headers=key("k-6"))
    assert again.status == 202
    assert "Idempotent-Replayed" not in again.headers
    assert await _balance(api) == 990


async def test_in_flight_is_409(api: Api) -> None:
    release = asyncio.Event()
    entered = asyncio.Event()
    real = api.rankion.creation.generate

    async def slow(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        await release.wait()
        return await real(*args, **kwargs)

    api.rankion.creation.generate = slow  # type: ignore[method-assign]
    first = asyncio.create_task(api.post(GENERATE, {"prompt": "x"}, headers=key("k-7")))
    await asyncio.wait_for(entered.wait(), 5)
    second = await api.post(GENERATE, {"prompt": "x"}, headers=key("k-7"))
    assert second.status == 409
    assert second.error["code"] == "idempotency_key_in_flight"
    release.set()
    assert (await first).status == 202
    third = await api.post(GENERATE, {"prompt": "x"}, headers=key("k-7"))
    assert third.headers["Idempotent-Replayed"] == "true"
    assert await _balance(api) == 995


async def test_edit_and_export_are_idempotent(api: Api) -> None:
    image_id = await api.generate()
    path = f"/v1/images/{image_id}/edit"
    first = await api.post(path, {"prompt": "x"}, headers=key("e-1"))
    again = await api.post(path, {"prompt": "x"}, headers=key("e-1"))
    assert again.body == first.body and again.headers["Idempotent-Replayed"] == "true"
    assert await _balance(api) == 985
    export = await api.post("/v1/images/bulk/export", {"ids": [image_id]}, headers=key("x-1"))
    replay = await api.post("/v1/images/bulk/export", {"ids": [image_id]}, headers=key("x-1"))
    assert export.status == replay.status == 202
    assert replay.body == export.body
    assert replay.headers["Location"] == export.headers["Location"]


async def test_malformed_body_with_a_key_is_400_and_not_stored(api: Api) -> None:
    assert (await api.post(GENERATE, raw=b"{", headers=key("k-8"))).status == 400
    assert (await api.post(GENERATE, {"prompt": "x"}, headers=key("k-8"))).status == 202
