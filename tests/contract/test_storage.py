"""The storage contract (``rankion_core.testing.StorageContract``) on every in-repo
backend. On SQLite the read contract's comparisons run once per read plan: as
estimated, and each kind of plan forced wherever it applies (``read_plan``)."""

from __future__ import annotations

import pytest

from rankion_core.ports import Storage
from rankion_core.testing import StorageContract

from .backends import MemoryBackend, PostgresBackend, SqliteBackend


class TestMemoryStorage(MemoryBackend, StorageContract):
    pass


class TestSqliteStorage(SqliteBackend, StorageContract):
    @pytest.mark.usefixtures("read_plan")
    async def test_listing_equals_the_unit_of_work_answers(self, storage: Storage) -> None:
        await super().test_listing_equals_the_unit_of_work_answers(storage)

    @pytest.mark.usefixtures("read_plan")
    async def test_tag_lists_follow_trash_restore_retagging_and_dates(
        self, storage: Storage
    ) -> None:
        await super().test_tag_lists_follow_trash_restore_retagging_and_dates(storage)

    @pytest.mark.usefixtures("read_plan")
    async def test_word_lists_follow_trash_restore_retitling_retagging_and_dates(
        self, storage: Storage
    ) -> None:
        await super().test_word_lists_follow_trash_restore_retitling_retagging_and_dates(storage)


class TestPostgresStorage(PostgresBackend, StorageContract):
    pass
