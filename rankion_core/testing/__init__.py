"""Contract suites a backend runs to show it keeps Rankion's ports.

Abstract pytest classes, one per port: subclass one in your own test module (its
name starting with ``Test``), implement its hook, and pytest runs every test of the
contract against your backend::

    from rankion_core.testing import StorageContract

    class TestMyStorage(StorageContract):
        async def make_storage(self):
            return MyStorage()  # empty and migrated, new for each test

The hooks: ``StorageContract.make_storage``, ``BlobStoreContract.make_blob_store``,
``ProviderContract.make_provider`` (with ``make_codec``, to decode its pictures) and
``CodecContract.make_codec``. The classes need
pytest and pytest-asyncio (``pip install 'rankion[testing]'``); importing this
package imports them, importing the rest of ``rankion_core`` never does.
See docs/backends.md.
"""

from __future__ import annotations

from rankion_core.testing.blobs import BlobStoreContract
from rankion_core.testing.codecs import CodecContract
from rankion_core.testing.providers import ProviderContract
from rankion_core.testing.storage import StorageContract, StorageFixtures

__all__ = [
    "BlobStoreContract",
    "CodecContract",
    "ProviderContract",
    "StorageContract",
    "StorageFixtures",
]
