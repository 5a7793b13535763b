"""Shared test set-up: Hypothesis profiles (``fast`` locally, ``ci`` in CI), and the
plug-in example backend registered for the session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("fast", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


@pytest.fixture(scope="session")
def example_plugin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The third-party example backend (tests/plugin_example), registered through a
    real entry point for the session (docs/backends.md)."""
    from tests.plugin_example.install import installed

    with installed(tmp_path_factory.mktemp("plugin-example")):
        yield
