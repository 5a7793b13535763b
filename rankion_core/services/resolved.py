"""Share tokens resolved in this process, so a share that goes viral costs no lookup
per view."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime, timedelta

from attrs import define

from ..models import Image, Share
from ..rules import shares as rules

#: how long a resolved share token is trusted before it is looked up again
LOOKUP_SECONDS = 1.0
#: resolved tokens kept per process (least recently used dropped first). An entry holds
#: the image, whose prompt may be 32 KB: 1,000 bounds the cache near 32 MB whatever a
#: tenant shares, and a viral share is one entry.
LOOKUP_ENTRIES = 1_000


@define(frozen=True)
class SharedImage:
    share: Share
    image: Image


class ResolvedShares:
    """Share tokens resolved in this process, each trusted for ``LOOKUP_SECONDS``.

    Whatever makes a share stop answering in this process (revoke, trash, delete)
    forgets its image's entries at once; other processes notice within the lifetime."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[datetime, SharedImage]] = OrderedDict()

    def get(self, token: str, now: datetime) -> SharedImage | None:
        entry = self._entries.get(token)
        if entry is None:
            return None
        at, shared = entry
        if now - at >= timedelta(seconds=LOOKUP_SECONDS) or not rules.is_active(shared.share, now):
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return shared

    def keep(self, token: str, now: datetime, shared: SharedImage) -> None:
        self._entries[token] = (now, shared)
        while len(self._entries) > LOOKUP_ENTRIES:
            self._entries.popitem(last=False)

    def forget_images(self, image_ids: Iterable[int]) -> None:
        gone = set(image_ids)
        for token in [t for t, (_, s) in self._entries.items() if s.image.id in gone]:
            del self._entries[token]
