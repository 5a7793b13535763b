"""The storage contract: one class per part of the ``Storage`` port, and
``StorageContract``, all of them at once. Every class reads the storage from the
``make_storage`` hook of ``StorageFixtures``."""

from __future__ import annotations

from rankion_core.testing.storage.calendar import CalendarContract
from rankion_core.testing.storage.calendar_days import CalendarDaysContract
from rankion_core.testing.storage.credits import CreditsContract
from rankion_core.testing.storage.fairness import FairnessContract
from rankion_core.testing.storage.feeds import FeedsContract
from rankion_core.testing.storage.fixture import StorageFixtures
from rankion_core.testing.storage.images import ImagesContract
from rankion_core.testing.storage.jobs import JobsContract
from rankion_core.testing.storage.misc import AccountsContract
from rankion_core.testing.storage.reads import ListReadsContract, ReadsContract
from rankion_core.testing.storage.similar import SimilarContract
from rankion_core.testing.storage.totals import TotalsContract
from rankion_core.testing.storage.webhooks import WebhooksContract

__all__ = [
    "AccountsContract",
    "CalendarContract",
    "CalendarDaysContract",
    "CreditsContract",
    "FairnessContract",
    "FeedsContract",
    "ImagesContract",
    "JobsContract",
    "ListReadsContract",
    "ReadsContract",
    "SimilarContract",
    "StorageContract",
    "StorageFixtures",
    "TotalsContract",
    "WebhooksContract",
]


class StorageContract(
    CreditsContract,
    AccountsContract,
    ImagesContract,
    SimilarContract,
    TotalsContract,
    ReadsContract,
    ListReadsContract,
    JobsContract,
    FairnessContract,
    CalendarContract,
    CalendarDaysContract,
    FeedsContract,
    WebhooksContract,
):
    """Every storage contract test: subclass it and implement ``make_storage``."""
