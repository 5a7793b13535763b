"""What an embedding app passes to a service, or gets back from one, it can import from
the public modules the docs name, not from where each class happens to be defined."""

from __future__ import annotations

import inspect
import typing
from types import ModuleType

import pytest

import rankion_core
from rankion_core import errors, models, ports, services, workers

#: the modules docs/embedding.md imports from
PUBLIC: tuple[ModuleType, ...] = (rankion_core, services, ports, models, errors, workers)
SERVICES = [
    services.Accounts,
    services.Calendar,
    services.Chat,
    services.Creation,
    services.Exports,
    services.Files,
    services.Gallery,
    services.Shares,
]


def classes_in(hint: object) -> set[type]:
    """The rankion_core classes a type hint names, however nested."""
    found: set[type] = set()
    if isinstance(hint, type) and hint.__module__.startswith("rankion_core"):
        found.add(hint)
    for arg in typing.get_args(hint):
        found |= classes_in(arg)
    origin = typing.get_origin(hint)
    if isinstance(origin, type) and origin.__module__.startswith("rankion_core"):
        found.add(origin)
    return found


def public(cls: type) -> bool:
    return any(getattr(module, cls.__name__, None) is cls for module in PUBLIC)


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.__name__)
def test_what_a_service_method_takes_and_gives_is_importable(service: type) -> None:
    hidden = []
    for name, method in inspect.getmembers(service, inspect.iscoroutinefunction):
        if not name.startswith("_"):
            for hint in typing.get_type_hints(method).values():
                hidden += [f"{name}: {c.__qualname__}" for c in classes_in(hint) if not public(c)]
    assert hidden == []
