"""A job's previews: the partial images a provider sends while it works.

Each is a blob of the job's own kind (``previews-{job_id}``) listed in the job's
payload under ``previews`` as ``{index, key, attempt}``: that list is what an event
stream reads (in any process) and what the orphan check counts as referenced while
the job is queued or running. The job clears it in the transaction that ends it and
then deletes the blobs; nothing else ever points at them, and the image's own blob is
never one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import define

__all__ = ["Preview", "previews_kind", "previews_of", "with_preview", "without_previews"]

_KEY = "previews"


@define(frozen=True)
class Preview:
    #: its place among the attempt's previews, from 0, as the provider sent them
    index: int
    key: str
    attempt: int

    def as_data(self) -> dict[str, Any]:
        return {"index": self.index, "key": self.key, "attempt": self.attempt}


def previews_kind(job_id: int) -> str:
    """The blob kind of one job's previews (a job-scoped namespace)."""
    return f"previews-{job_id}"


def previews_of(payload: Mapping[str, Any]) -> list[Preview]:
    """The previews a job's payload lists, oldest first (well-formed entries only)."""
    listed = payload.get(_KEY)
    found: list[Preview] = []
    for entry in listed if isinstance(listed, list) else []:
        if not isinstance(entry, Mapping):
            continue
        index, key, attempt = entry.get("index"), entry.get("key"), entry.get("attempt", 0)
        if isinstance(index, int) and isinstance(key, str) and isinstance(attempt, int):
            found.append(Preview(index, key, attempt))
    return found


def with_preview(payload: Mapping[str, Any], preview: Preview) -> dict[str, Any]:
    listed = [p.as_data() for p in previews_of(payload)]
    return {**payload, _KEY: [*listed, preview.as_data()]}


def without_previews(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != _KEY}
