"""The use cases: what an embedding app calls and what the server calls."""

from __future__ import annotations

from datetime import timedelta

from .accounts import Accounts, IssuedToken, TokenView
from .calendar import Calendar, Shift, ShiftResult
from .chat import Chat
from .creation import Creation, EditRequest, GenerateRequest, Queued
from .deps import Deps
from .exports import Exports, ExportView
from .feeds import CalendarFeeds, FeedContent
from .gallery import BulkDeleteResult, BulkRestoreResult, Gallery, ImagePatch, SimilarView
from .jobs import Jobs
from .shares import SharedImage, Shares
from .views import ImageDetail, ImageView, RenditionView, ShareView, VariantView
from .webhooks import Webhooks

__all__ = [
    "Accounts",
    "BulkDeleteResult",
    "BulkRestoreResult",
    "Calendar",
    "CalendarFeeds",
    "Chat",
    "Creation",
    "Deps",
    "EditRequest",
    "ExportView",
    "Exports",
    "FeedContent",
    "Gallery",
    "GenerateRequest",
    "ImageDetail",
    "ImagePatch",
    "ImageView",
    "IssuedToken",
    "Jobs",
    "Queued",
    "Rankion",
    "RenditionView",
    "ShareView",
    "SharedImage",
    "Shares",
    "Shift",
    "ShiftResult",
    "SimilarView",
    "TokenView",
    "VariantView",
    "Webhooks",
]


class Rankion:
    """Every service, built once from the same ports."""

    def __init__(self, deps: Deps, *, lease: timedelta = timedelta(seconds=30)) -> None:
        self.deps = deps
        self.accounts = Accounts(deps)
        self.calendar = Calendar(deps)
        self.calendar_feeds = CalendarFeeds(deps)
        self.gallery = Gallery(deps)
        self.creation = Creation(deps)
        self.shares = Shares(deps)
        self.chat = Chat(deps)
        self.jobs = Jobs(deps, lease=lease)
        self.exports = Exports(deps, self.jobs)
        self.webhooks = Webhooks(deps, self.jobs)

    async def run_pending(self, worker: str = "inline") -> int:
        """Run every claimable job now, in this task; how many ran (tests, scripts)."""
        ran = 0
        while await self.jobs.run_once(worker):
            ran += 1
        return ran
