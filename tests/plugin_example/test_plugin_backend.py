"""The plug-in path of docs/backends.md, end to end: a package outside this
distribution registers a storage backend under the ``rankion.storage`` entry-point
group, and the server's wiring finds it by URL scheme. (The whole storage contract
also runs against it: ``test_contract.py`` beside this file.)"""

from __future__ import annotations

import pytest

from rankion_core import Actor
from rankion_core.services import GenerateRequest
from rankion_server import wiring
from rankion_server.config import ServerConfig


@pytest.mark.usefixtures("example_plugin")
def test_the_entry_point_resolves_to_the_example_package() -> None:
    factory = wiring.load("rankion.storage", "audited")
    assert factory.__module__ == "rankion_audited"
    storage = wiring.open_storage("audited://anything")
    assert type(storage).__name__ == "AuditedStorage"


@pytest.mark.usefixtures("example_plugin")
async def test_a_whole_app_runs_on_the_plugin_storage() -> None:
    config = ServerConfig(
        database_url="audited://app", blobs_url="memory://plugin-app", secret=b"s" * 32
    )
    app = await wiring.build(config)
    try:
        team = await app.accounts.create_team("plugged", 10)
        queued = await app.creation.generate(Actor(team.id), GenerateRequest(prompt="a kite"))
        assert await app.run_pending() == 1
        image = (await app.gallery.detail(Actor(team.id), queued.image_id)).view.image
        assert image.processing_status == "ready"
        assert app.deps.storage.commits > 3  # type: ignore[attr-defined]
    finally:
        await wiring.close(app)
