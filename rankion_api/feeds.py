"""Calendar feed tokens."""

from __future__ import annotations

from attrs import define, field

from .common import doc


@define(frozen=True)
class FeedTokenOut:
    token: str = field(metadata=doc("the feed token, shown once; stored only as a digest"))
    url: str = field(
        metadata=doc("the feed's URL with the token in it: subscribe to it in a calendar app")
    )
