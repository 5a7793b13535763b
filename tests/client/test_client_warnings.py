"""The server's ``warnings`` reach a Python caller as ``ApiWarning``s."""

from __future__ import annotations

import warnings
from datetime import timedelta

import pytest

from rankion_client import ApiWarning, Client
from tests.api.conftest import ClientFactory, config, start


async def test_a_past_scheduled_post_warns_and_is_kept(aiohttp_client: ClientFactory) -> None:
    api = await start(aiohttp_client, config())
    project = await api.project()
    base = str(api.client.make_url("")).rstrip("/")
    past = api.clock.now() - timedelta(hours=1)
    async with Client(base, api.a.token) as client:
        with pytest.warns(ApiWarning) as caught:
            event = await client.calendar.create(
                project, "Late", scheduled_at=past, status="scheduled"
            )
        assert [w.message.code for w in caught.list] == ["scheduled_in_past"]  # type: ignore[union-attr]
        assert event.status.value == "scheduled" and event.scheduled_at == past
        with warnings.catch_warnings():
            warnings.simplefilter("error", ApiWarning)  # nothing to say: no warning
            await client.calendar.update(event.id, status="published")
