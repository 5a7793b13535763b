"""The limits of the contract, in one place."""

from __future__ import annotations

from datetime import timedelta

from ..errors import LimitExceeded

PER_PAGE_DEFAULT = 24
PER_PAGE_MAX = 100
CALENDAR_PER_PAGE_DEFAULT = 100
CALENDAR_PER_PAGE_MAX = 500
PROMPT_MAX = 32_000
TITLE_MAX = 200
NOTES_MAX = 10_000
PROJECT_NAME_MAX = 200
SLOT_MAX = 100
TAGS_MAX = 20
#: distinct words a gallery ``q`` may hold: each is a prefix looked up in the word index
Q_WORDS_MAX = 10
TAG_MAX = 50
BULK_MAX = 200
#: A filtered gallery list counts its matches up to this many past the page's offset;
#: beyond, ``meta.total`` is that lower bound and ``meta.total_exact`` false.
TOTAL_COUNT_LIMIT = 1000
EXPORT_MAX = 500
#: how many events one calendar shift may move (all in one transaction)
SHIFT_EVENTS_MAX = 5_000
IDEMPOTENCY_KEY_MAX = 255
#: an error names at most this many fields in `details`
DETAILS_MAX = 20
#: digits of the largest id or count a path, query or header may carry (2^63 - 1 has 19)
DIGITS_MAX = 19
ID_MAX = 2**63 - 1
#: nesting of a JSON body an idempotency fingerprint looks into
JSON_DEPTH_MAX = 64

#: default per-team caps of a shared server (the server's settings; 0 turns one off)
WEBHOOKS_PER_TEAM = 20
PROJECTS_PER_TEAM = 1_000
#: calendar events of all the team's projects together
CALENDAR_EVENTS_PER_TEAM = 100_000
CHAT_SESSIONS_PER_TEAM = 10_000
#: webhook deliveries a team may have waiting (queued or being tried); an event past
#: it is dropped and logged, not sent
PENDING_DELIVERIES_PER_TEAM = 1000
ACTIVE_EXPORTS_PER_TEAM = 3
#: requests of one team answered at once by one process (well below the database
#: pool's 10, so one team never holds every connection)
REQUESTS_PER_TEAM = 4
#: bytes of export ZIPs a team may have kept for download (each for EXPORT_RETENTION)
EXPORT_BYTES_PER_TEAM = 5 * 2**30
#: seconds a team over its export cap is told to wait
ACTIVE_EXPORTS_RETRY_AFTER = 10


def at_cap(count: int, limit: int) -> bool:
    """Whether a team holding ``count`` of something may not add one more under
    ``limit`` (0: no limit)."""
    return limit > 0 and count >= limit


#: how a team at a cap makes room, where it can delete what it has
DELETE_ONE = "delete one first"


def check_cap(what: str, count: int, limit: int, remedy: str = DELETE_ONE) -> None:
    """``LimitExceeded`` when a team holding ``count`` of ``what`` (a plural noun) may not
    add one more under ``limit`` (0: no limit); ``remedy`` says how to make room."""
    if at_cap(count, limit):
        raise LimitExceeded(
            f"a team may have at most {limit} {what}; {remedy}",
            details={what.replace(" ", "_"): f"at most {limit} per team"},
        )


GENERATE_COST = 5
#: the most credits a team may hold: a grant (or a new team's credits) past it is refused,
#: so a balance always fits the integer column (32-bit on PostgreSQL) with room to spare
CREDITS_MAX = 10**9
EDIT_COST = 10

TRASH_RETENTION = timedelta(days=30)
IDEMPOTENCY_TTL = timedelta(hours=24)
#: a key whose first request never finished (the process died) is free again after this
IN_FLIGHT_TIMEOUT = timedelta(minutes=5)
URL_MIN_VALIDITY = timedelta(hours=1)
EXPORT_RETENTION = timedelta(hours=24)
SHARE_TOKEN_BYTES = 24  # 192 random bits, ≥ 128 as the contract asks
#: the lengths a share token from a URL may have to be looked up (made ones are 32)
SHARE_TOKEN_MIN, SHARE_TOKEN_MAX = 16, 128
#: the longest lifetime ``expires_in`` may give an API token (ten years)
TOKEN_LIFETIME_MAX = timedelta(days=3650)
#: ``last_used_at`` is rewritten only when it is older than this
TOKEN_TOUCH_INTERVAL = timedelta(minutes=1)

QUALITIES = ("auto", "low", "medium", "high")
#: the generation options' bounds; a model may allow less (``ModelCapabilities``)
N_MAX = 4
PARTIAL_IMAGES_MAX = 3
COMPRESSION_MAX = 100
MODERATIONS = ("auto", "low")
INPUT_FIDELITIES = ("high", "low")
#: the output formats ``output_compression`` applies to
COMPRESSIBLE_FORMATS = ("jpeg", "webp")
BACKGROUNDS = ("auto", "transparent", "opaque")
OUTPUT_FORMATS = ("png", "jpeg", "webp")
