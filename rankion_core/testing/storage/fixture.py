"""The one hook of the storage contract: a fresh storage per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from rankion_core.ports import Storage


class StorageFixtures:
    """What every storage contract class reads from the backend's test class.

    Implement ``make_storage`` (an empty, migrated storage, new for each test). Other
    pytest fixtures are at hand through ``self.request`` (``tmp_path``, a database
    made once per session, …). Override ``close_storage`` if closing needs more than
    ``storage.close()``, and ``check_consistency`` to check what your backend derives
    from its rows (indexes, counters): some tests call it after each write.
    """

    pytestmark = [pytest.mark.asyncio]
    request: pytest.FixtureRequest

    async def make_storage(self) -> Storage:
        raise NotImplementedError(f"{type(self).__name__} must implement make_storage()")

    async def close_storage(self, storage: Storage) -> None:
        await storage.close()

    async def check_consistency(self, storage: Storage) -> None:
        """Nothing to check unless a backend says so."""

    @pytest_asyncio.fixture
    async def storage(self, request: pytest.FixtureRequest) -> AsyncIterator[Storage]:
        self.request = request
        storage = await self.make_storage()
        try:
            yield storage
        finally:
            await self.close_storage(storage)
