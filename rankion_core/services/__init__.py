"""The use cases: what an embedding app calls and what the server calls."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from attrs import evolve

from ..rules.calendar import DayCount, EventChange, EventDraft
from .accounts import Accounts, IssuedToken, TokenView
from .calendar import Calendar, Shift, ShiftResult, ZonedEvent
from .chat import Chat
from .creation import Creation, EditRequest, GenerateRequest, Queued, QueuedImage
from .deps import Deps
from .exports import Exports, ExportView
from .feeds import CalendarFeeds, FeedContent
from .files import BlobContent, Files
from .gallery import BulkDeleteResult, BulkRestoreResult, Gallery, ImagePatch, SimilarView
from .hooks import Hooks
from .jobs import Jobs, TeamShare
from .resolved import ResolvedShares, SharedImage
from .shares import Shares
from .views import ImageDetail, ImageView, RenditionView, ShareView, VariantView
from .webhooks import Webhooks

__all__ = [
    "Accounts",
    "BlobContent",
    "BulkDeleteResult",
    "BulkRestoreResult",
    "Calendar",
    "CalendarFeeds",
    "Chat",
    "Creation",
    "DayCount",
    "Deps",
    "EditRequest",
    "EventChange",
    "EventDraft",
    "ExportView",
    "Exports",
    "FeedContent",
    "Files",
    "Gallery",
    "GenerateRequest",
    "Hooks",
    "ImageDetail",
    "ImagePatch",
    "ImageView",
    "IssuedToken",
    "Jobs",
    "Queued",
    "QueuedImage",
    "Rankion",
    "RenditionView",
    "ShareView",
    "SharedImage",
    "Shares",
    "Shift",
    "ShiftResult",
    "SimilarView",
    "TeamShare",
    "TokenView",
    "VariantView",
    "Webhooks",
    "ZonedEvent",
]


class Rankion:
    """Every service, built once from the same ports and ``hooks`` (applied here, once:
    ``deps`` holds the hooked ports, the ``Deps`` given are not changed)."""

    def __init__(
        self, deps: Deps, *, lease: timedelta = timedelta(seconds=30), hooks: Hooks = Hooks()
    ) -> None:
        self._given = deps
        self.hooks = hooks
        deps = hooks.apply(deps)
        self.deps = deps
        self.accounts = Accounts(deps)
        self.calendar = Calendar(deps)
        self.calendar_feeds = CalendarFeeds(deps)
        resolved = ResolvedShares()
        self.gallery = Gallery(deps, resolved)
        self.creation = Creation(deps)
        self.shares = Shares(deps, resolved)
        self.chat = Chat(deps)
        self.jobs = Jobs(deps, lease=lease, hooks=hooks)
        self.exports = Exports(deps, self.jobs)
        self.webhooks = Webhooks(deps, self.jobs)
        self.files = Files(deps)

    def derive(self, hooks: Hooks = Hooks(), **changes: Any) -> Rankion:
        """A new ``Rankion`` over the same ports, with ``changes`` to the ``Deps`` it was
        given (``clock=…``, ``articles=…``) and ``hooks`` added around its own. This
        one is left as it is; handlers ``register``-ed on it after it was built are not
        carried over."""
        deps = evolve(self._given, **changes) if changes else self._given
        return Rankion(deps, lease=self.jobs.lease, hooks=self.hooks + hooks)

    async def close(self) -> None:
        """Close the ports it runs on: the webhook sender, the provider, the blob store
        and the storage (the ``Rankion`` that opened them closes them, once)."""
        deps = self._given
        if deps.webhook_sender is not None:
            await deps.webhook_sender.close()
        await deps.provider.close()
        await deps.blobs.close()
        await deps.storage.close()

    async def run_pending(self, worker: str = "inline") -> int:
        """Run every claimable job now, in this task; how many ran (tests, scripts)."""
        ran = 0
        while await self.jobs.run_once(worker):
            ran += 1
        return ran
