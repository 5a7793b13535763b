"""What every service is built from: the ports, wired once."""

from __future__ import annotations

from collections.abc import Callable

from attrs import define, field

from ..defaults import AnyArticle, NoChatSink, SystemClock
from ..ports import (
    ArticleDirectory,
    BlobStore,
    ChatSessionSink,
    Clock,
    ImageCodec,
    ImageProvider,
    Storage,
    WebhookSender,
)
from ..rules.webhooks import RetryPolicy
from ..signing import HmacUrlSigner


@define(frozen=True)
class Deps:
    """The ports and settings every service is built from; frozen: a host that wants
    other ones builds another ``Deps`` (``attrs.evolve``) and another ``Rankion``."""

    storage: Storage
    blobs: BlobStore
    provider: ImageProvider
    codec: ImageCodec
    signer: HmacUrlSigner
    clock: Clock = field(factory=SystemClock)
    articles: ArticleDirectory = field(factory=AnyArticle)
    chat_sink: ChatSessionSink = field(factory=NoChatSink)
    #: called after a job is queued, so in-process workers wake at once
    on_job_queued: Callable[[], None] | None = None
    #: generate/edit jobs a team may have queued or running at once (0: no limit)
    max_active_jobs: int = 0
    #: webhooks a team may have (0: no limit)
    max_webhooks: int = 0
    #: projects, calendar events (all its projects together) and chat sessions a team
    #: may have (0: no limit)
    max_projects: int = 0
    max_calendar_events: int = 0
    max_chat_sessions: int = 0
    #: exports a team may have queued or running at once (0: no limit)
    max_active_exports: int = 0
    #: bytes of export ZIPs a team may have kept for download; past it a new export is
    #: refused until the first of them expires (0: no limit)
    max_export_bytes: int = 0
    #: webhook deliveries a team may have waiting; past it an event's deliveries are
    #: dropped and logged (0: no limit)
    max_pending_deliveries: int = 0
    #: sends webhook deliveries (None: deliveries fail with a clear error)
    webhook_sender: WebhookSender | None = None
    webhook_policy: RetryPolicy = field(factory=RetryPolicy)

    @property
    def base_url(self) -> str:
        return self.signer.base_url

    def notify_job(self) -> None:
        if self.on_job_queued is not None:
            self.on_job_queued()
