"""The variant tree: every edit is a child of its source; ``root_id`` names the tree.

Functions take the list of images of one tree (``ImageRepository.tree``) and answer
without further queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from attrs import define

from ..models import Image


@define(frozen=True)
class Variant:
    image: Image
    depth: int


def attach(child: Image, parent: Image) -> None:
    """Make ``child`` a variant of ``parent`` (same tree, same team)."""
    child.parent_id = parent.id
    child.root_id = parent.tree_root


def _children(tree: Iterable[Image]) -> dict[int | None, list[Image]]:
    kids: dict[int | None, list[Image]] = {}
    for image in tree:
        kids.setdefault(image.parent_id, []).append(image)
    return kids


def descendants(tree: Sequence[Image], image_id: int) -> list[Variant]:
    """Every image below ``image_id``, oldest first (ties by id), with its depth."""
    kids = _children(tree)
    out: list[Variant] = []
    stack = [(image_id, 0)]
    seen = {image_id}
    while stack:
        node, depth = stack.pop()
        for child in kids.get(node, ()):
            if child.id not in seen:  # a cycle can't be stored, but never loop on one
                seen.add(child.id)
                out.append(Variant(child, depth + 1))
                stack.append((child.id, depth + 1))
    out.sort(key=lambda v: (v.image.created_at, v.image.id))
    return out


def ancestors(tree: Sequence[Image], image: Image) -> list[Image]:
    """From the root down to the direct parent of ``image``."""
    by_id = {i.id: i for i in tree}
    chain: list[Image] = []
    seen = {image.id}
    parent_id = image.parent_id
    while parent_id is not None and parent_id in by_id and parent_id not in seen:
        seen.add(parent_id)
        parent = by_id[parent_id]
        chain.append(parent)
        parent_id = parent.parent_id
    chain.reverse()
    return chain


def ancestor_ids(tree: Sequence[Image], image: Image) -> list[int]:
    return [a.id for a in ancestors(tree, image)]


def detach_for_delete(tree: Sequence[Image], doomed: Image, now: datetime) -> list[Image]:
    """Re-attach ``doomed``'s direct variants before it is deleted for good.

    Each child moves to ``doomed``'s parent; when ``doomed`` was a root, each child
    becomes the root of its own tree and its whole subtree follows it. Returns every
    image whose ``parent_id``/``root_id`` changed (to be stored).
    """
    changed: list[Image] = []
    kids = _children(tree)
    for child in kids.get(doomed.id, ()):
        child.parent_id = doomed.parent_id
        child.updated_at = now
        changed.append(child)
        if doomed.parent_id is None:
            child.root_id = None
            for v in descendants(tree, child.id):
                v.image.root_id = child.id
                changed.append(v.image)
    return changed
