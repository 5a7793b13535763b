"""Register the example backend through real entry points, without ``pip install``.

``importlib.metadata`` finds a distribution wherever a ``*.dist-info`` folder sits on
``sys.path``; this writes one (``METADATA`` and ``entry_points.txt``, generated from the
example's own ``pyproject.toml``) next to a copy of the package in a temporary folder,
puts that folder on ``sys.path``, and takes it all away afterwards.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rankion_server import wiring

HERE = Path(__file__).resolve().parent


def _entry_points_txt(project: dict[str, object]) -> str:
    groups = project.get("entry-points", {})
    assert isinstance(groups, dict)
    lines = []
    for group, names in groups.items():
        lines.append(f"[{group}]")
        lines.extend(f"{name} = {target}" for name, target in names.items())
        lines.append("")
    return "\n".join(lines)


def write_distribution(folder: Path, source: Path = HERE) -> list[str]:
    """Copy the example's packages into ``folder`` with a dist-info; their names."""
    pyproject = tomllib.loads((source / "pyproject.toml").read_text())
    project = pyproject["project"]
    packages: list[str] = pyproject["tool"]["setuptools"]["packages"]
    for package in packages:
        shutil.copytree(source / package, folder / package, dirs_exist_ok=True)
    dist = folder / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    (dist / "entry_points.txt").write_text(_entry_points_txt(project))
    return packages


@contextmanager
def installed(folder: Path) -> Iterator[None]:
    """The example backend is importable and registered while the block runs."""
    packages = write_distribution(folder)
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    wiring._entry_points.cache_clear()
    try:
        yield
    finally:
        sys.path.remove(str(folder))
        for name in packages:
            sys.modules.pop(name, None)
        importlib.invalidate_caches()
        wiring._entry_points.cache_clear()
