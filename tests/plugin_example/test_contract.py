"""The example backend runs Rankion's storage contract, as its own distribution's
tests would: one subclass of ``StorageContract`` and its ``make_storage`` hook.

(Here the storage is opened by URL through the entry point the example registers,
which also proves the registration; an installed package would simply write
``from rankion_audited import AuditedStorage`` and return ``AuditedStorage()``.)
"""

from __future__ import annotations

import pytest

from rankion_core.ports import Storage
from rankion_core.testing import StorageContract
from rankion_server import wiring


@pytest.mark.usefixtures("example_plugin")
class TestAuditedStorage(StorageContract):
    async def make_storage(self) -> Storage:
        return wiring.open_storage("audited://contract")
