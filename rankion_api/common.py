"""Shapes shared by every resource: the "absent" marker, page meta, the error envelope."""

from __future__ import annotations

import enum
from typing import Any, Final, TypeVar

from attrs import define, field


class Unset(enum.Enum):
    """A body field that was not sent (as opposed to an explicit ``null``)."""

    UNSET = "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = Unset.UNSET

T = TypeVar("T")


def given(value: T | Unset) -> T | None:
    """The value sent, or None when the field was absent."""
    return None if isinstance(value, Unset) else value


def doc(description: str | None = None, **schema: Any) -> dict[str, Any]:
    """Field metadata for the OpenAPI document: a description and JSON-Schema keywords."""
    extra = dict(schema)
    if description:
        extra["description"] = description
    return {"schema": extra}


def json_name(name: str) -> str:
    """A body field named after a Python keyword ends in ``_`` (``from_`` is ``from``)."""
    return name.removesuffix("_")


#: field metadata key: the error code of an array longer than its ``maxItems``
TOO_MANY = "too_many_code"


def too_many(code: str) -> dict[str, Any]:
    """Field metadata: an array past its ``maxItems`` is ``422`` with this error code
    (``LimitExceeded``) instead of ``validation_error``."""
    return {TOO_MANY: code}


@define(frozen=True)
class EmptyBody:
    """The body of a POST that takes none (``{}`` or no body at all)."""


@define(frozen=True)
class MetaOut:
    page: int
    per_page: int
    total: int
    last_page: int
    total_exact: bool = field(
        default=True,
        metadata=doc(
            "false when total is a lower bound: a filtered image list counts at most "
            "1,000 matches past the page's offset; last_page is then a lower bound too"
        ),
    )


@define(frozen=True)
class WarningOut:
    """A write that succeeded but is probably not what was meant (beside ``data``)."""

    code: str = field(metadata=doc("stable, e.g. scheduled_in_past"))
    message: str


@define(frozen=True)
class ErrorDetailOut:
    code: str
    message: str
    details: dict[str, Any] | None = None


@define(frozen=True)
class ErrorOut:
    error: ErrorDetailOut
