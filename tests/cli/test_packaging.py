"""How the distribution is declared: an install prints no deprecation warning."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_licence_is_an_spdx_expression_read_by_the_build_backend() -> None:
    """``project.license`` as a TOML table is deprecated (setuptools warns at every
    install); an SPDX string with ``license-files`` is PEP 639, which setuptools reads
    from version 77, the least the build asks for."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = pyproject["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"] and (ROOT / "LICENSE").exists()
    assert not any(c.startswith("License ::") for c in project.get("classifiers", []))
    (setuptools,) = [r for r in pyproject["build-system"]["requires"] if "setuptools" in r]
    found = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools)
    assert found is not None and int(found.group(1)) >= 77, setuptools
