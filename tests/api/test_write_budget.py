"""What a write costs the storage: each hot write route is one unit of work, and the
repository is asked only for what the change needs.

A unit of work is a transaction (``BEGIN`` … ``COMMIT``: round trips on PostgreSQL, the
write lock on SQLite); the answer of each route is built inside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from .conftest import Api


@contextmanager
def counted(api: Api) -> Iterator[Counter[str]]:
    """Units of work begun, and the image repository's methods called, while inside."""
    storage = api.rankion.deps.storage
    real = storage.unit_of_work
    calls: Counter[str] = Counter()

    class Images:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            method = getattr(self.inner, name)

            def call(*args: Any, **kwargs: Any) -> Any:
                named = ", ".join(f"{k}={v!r}" for k, v in sorted(kwargs.items()))
                calls[f"images.{name}({named})"] += 1
                return method(*args, **kwargs)

            return call

    class Counted:
        def __init__(self) -> None:
            self.inner = real()

        async def __aenter__(self) -> Any:
            calls["units of work"] += 1
            uow = await self.inner.__aenter__()
            uow.images = Images(uow.images)
            return uow

        async def __aexit__(self, *exc: Any) -> Any:
            return await self.inner.__aexit__(*exc)

    storage.unit_of_work = Counted  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        storage.unit_of_work = real  # type: ignore[method-assign]


@pytest.fixture
async def warm(api: Api) -> tuple[int, int]:
    """An image and a project, the caller's token already known to the server."""
    return await api.generate(run=False), await api.project()


async def test_a_favourite_is_one_statement_without_a_read(api: Api, warm: tuple[int, int]) -> None:
    image, _ = warm
    with counted(api) as calls:
        answer = await api.post(f"/v1/images/{image}/favorite")
    assert answer.status == 200 and answer.data == {"id": image, "is_favorite": True}
    assert calls == {"units of work": 1, "images.toggle_favorite()": 1}


async def test_a_title_patch_leaves_the_tag_rows_alone(api: Api, warm: tuple[int, int]) -> None:
    image, _ = warm
    with counted(api) as calls:
        answer = await api.call("PATCH", f"/v1/images/{image}", {"title": "new"})
    assert answer.status == 200 and answer.data["title"] == "new"
    # read without a lock, the write checked against the read
    expected = {
        "images.get_shown(for_update=False)": 1,
        "images.update(tags=False, unlocked=True)": 1,
    }
    assert calls == {"units of work": 1, **expected}
    with counted(api) as calls:
        answer = await api.call("PATCH", f"/v1/images/{image}", {"tags": ["x"]})
    assert answer.status == 200 and answer.data["tags"] == ["x"]
    assert calls["images.get_shown(for_update=True)"] == 1  # tag rows: read locked
    assert calls["images.update(tags=True, unlocked=False)"] == 1


async def test_a_calendar_write_reads_the_zone_in_its_own_unit_of_work(
    api: Api, warm: tuple[int, int]
) -> None:
    _, project = warm
    path = f"/v1/projects/{project}/calendar"
    with counted(api) as calls:
        made = await api.post(path, {"title": "launch", "scheduled_at": "2027-01-15T09:00:00Z"})
    assert made.status == 201 and made.data["scheduled_local"] == "2027-01-15T09:00:00+00:00"
    event = made.data["id"]
    with counted(api) as more:
        changed = await api.call("PUT", f"/v1/calendar/{event}", {"title": "later"})
        read = await api.get(f"/v1/calendar/{event}")
    assert changed.status == 200 and read.data == changed.data
    assert calls["units of work"] == 1 and more["units of work"] == 2


async def test_a_generation_is_one_unit_of_work(api: Api, warm: tuple[int, int]) -> None:
    with counted(api) as calls:
        await api.generate(run=False, tags=["a", "b"])
    assert calls["units of work"] == 1
