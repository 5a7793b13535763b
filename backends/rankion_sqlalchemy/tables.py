"""The schema: one ``MetaData`` the mappers, the queries and the migrations share.

Every list query has an index that serves both its filter and its sort. Image lists
only ever read non-trashed rows, so their indexes are partial (``WHERE deleted_at IS
NULL``): PostgreSQL does not treat ``deleted_at IS NULL`` as an equality when it
orders by an index, so a plain composite index can be ~1000x slower there.
Indexes that only one dialect can express are marked with ``ddl_if``; migrations
and the schema comparison honour that (see ``dialect_allows``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)

from rankion_core.models import ACTIVE_JOB_STATUSES as ACTIVE_JOBS
from rankion_core.models import (
    EventStatus,
    EventType,
    ExportStatus,
    JobKind,
    JobStatus,
    ProcessingStatus,
)
from rankion_core.rules.similar import BAND_MASK, BAND_SHIFTS

from .types import StrEnumType, UTCDateTime

__all__ = ["ACTIVE_JOB_STATUSES", "dialect_allows", "metadata", "phash_band"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: Literal SQL (not bound parameters), so SQLite sees that a query implies the
#: ``WHERE`` of a partial index.
#: ``models.ACTIVE_JOB_STATUSES`` in SQL (the partial indexes' condition)
ACTIVE_JOB_STATUSES = "status IN (" + ", ".join(f"'{s}'" for s in ACTIVE_JOBS) + ")"
_LIVE = text("deleted_at IS NULL")
_TRASHED = text("deleted_at IS NOT NULL")
_HASHED = text("deleted_at IS NULL AND phash IS NOT NULL")


#: Ids and references to them: 64-bit on PostgreSQL, as the API's ids are (1 … 2^63 - 1);
#: SQLite's INTEGER is 64-bit already, and ``INTEGER PRIMARY KEY`` is what makes its rowid
#: the id.
Id = BigInteger().with_variant(Integer(), "sqlite")


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _team() -> Column[int]:
    return Column("team_id", Id, ForeignKey("teams.id"), nullable=False)


def _live(name: str, *columns: Any) -> Index:
    """A partial index over non-trashed images, on both dialects."""
    return Index(name, *columns, sqlite_where=_LIVE, postgresql_where=_LIVE)


def dialect_allows(index: Any, dialect_name: str) -> bool:
    """False for an index marked ``ddl_if(dialect=...)`` for another dialect."""
    ddl_if = getattr(index, "_ddl_if", None)
    if ddl_if is None or ddl_if.dialect is None:
        return True
    allowed = ddl_if.dialect
    return dialect_name == allowed if isinstance(allowed, str) else dialect_name in allowed


teams = Table(
    "teams",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("credits", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("credits >= 0", name="credits_not_negative"),
    sqlite_autoincrement=True,
)

users = Table(
    "users",
    metadata,
    _id(),
    _team(),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("team_id", "name", name="uq_users_team_id_name"),
    sqlite_autoincrement=True,
)

api_tokens = Table(
    "api_tokens",
    metadata,
    _id(),
    _team(),
    Column("user_id", Id, ForeignKey("users.id"), nullable=False),
    Column("prefix", String(64), nullable=False, index=True),
    Column("digest", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
    Index("ix_api_tokens_team_id_id", "team_id", "id"),
    sqlite_autoincrement=True,
)

projects = Table(
    "projects",
    metadata,
    _id(),
    _team(),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("time_zone", String(64), nullable=False, server_default="UTC"),
    Index("ix_projects_team_id_id", "team_id", "id"),
    sqlite_autoincrement=True,
)

calendar_events = Table(
    "calendar_events",
    metadata,
    _id(),
    _team(),
    Column("project_id", Id, ForeignKey("projects.id"), nullable=False),
    Column("title", String(200), nullable=False),
    Column("type", StrEnumType(EventType), nullable=False),
    Column("status", StrEnumType(EventStatus), nullable=False),
    Column("scheduled_at", UTCDateTime, nullable=True),
    Column("article_id", Id, nullable=True),
    Column("notes", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_calendar_events_list", "team_id", "project_id", "scheduled_at", "id"),
    #: per-day counts read the range from this index alone
    Index("ix_calendar_events_days", "team_id", "project_id", "status", "scheduled_at"),
    sqlite_autoincrement=True,
)

images = Table(
    "images",
    metadata,
    _id(),
    _team(),
    Column("prompt", Text, nullable=False),
    Column("model", String(100), nullable=False),
    Column("size", String(50), nullable=False),
    Column("quality", String(50), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("project_id", Id, ForeignKey("projects.id"), nullable=True),
    Column("article_id", Id, nullable=True),
    Column("slot", String(100), nullable=True),
    Column("title", String(200), nullable=True),
    Column("background", String(50), nullable=True),
    Column("output_format", String(20), nullable=False),
    Column("tags", JSON, nullable=False),
    Column("is_favorite", Boolean, nullable=False),
    Column("processing_status", StrEnumType(ProcessingStatus), nullable=False),
    Column("error", Text, nullable=True),
    Column("blob_key", String(255), nullable=True),
    Column("thumbnail_key", String(255), nullable=True),
    Column("width", Integer, nullable=True),
    Column("height", Integer, nullable=True),
    Column("mime_type", String(100), nullable=True),
    Column("bytes", Integer, nullable=True),
    Column("parent_id", Id, nullable=True),
    Column("root_id", Id, nullable=True),
    Column("edit_session_id", Id, nullable=True),
    Column("credits_charged", Integer, nullable=False),
    Column("share_views", Integer, nullable=False),
    Column("edited_at", UTCDateTime, nullable=True),
    Column("deleted_at", UTCDateTime, nullable=True),
    Column("purge_at", UTCDateTime, nullable=True),
    Column("placeholder", String(64), nullable=True),
    Column("phash", BigInteger, nullable=True),
    Column("public_key", String(255), nullable=True),
    Column("renditions", JSON, nullable=False, server_default="[]"),
    # The words of title, prompt and tags (``search.search_text``), space-separated:
    # what SQLite FTS5 and the PostgreSQL GIN index are built from.
    Column("search_text", Text, nullable=False),
    _live("ix_images_newest", "team_id", "created_at", "id"),
    _live("ix_images_favorite", "team_id", "is_favorite", "created_at", "id"),
    _live("ix_images_model", "team_id", "model", "created_at", "id"),
    _live("ix_images_project", "team_id", "project_id", "created_at", "id"),
    _live("ix_images_status", "team_id", "processing_status", "created_at", "id"),
    # ``similar``: the team's hashes read from the index alone (see docs/images.md)
    Index(
        "ix_images_phash",
        "team_id",
        "phash",
        "id",
        sqlite_where=_HASHED,
        postgresql_where=_HASHED,
    ),
    Index(
        "ix_images_trash",
        "team_id",
        "deleted_at",
        "id",
        sqlite_where=_TRASHED,
        postgresql_where=_TRASHED,
    ),
    Index("ix_images_purge", "purge_at", "id", sqlite_where=_TRASHED, postgresql_where=_TRASHED),
    Index("ix_images_root", "team_id", "root_id"),
    # ``edited`` sorts edited_at DESC with NULLs last, then id DESC. SQLite sorts NULLs
    # first, so DESC already puts them last and a plain index scanned backwards serves
    # it; PostgreSQL needs NULLS LAST spelled out in the index.
    _live("ix_images_edited", "team_id", "edited_at", "id").ddl_if(dialect="sqlite"),
    Index(
        "ix_images_edited_pg",
        text("team_id"),
        text("edited_at DESC NULLS LAST"),
        text("id DESC"),
        postgresql_where=_LIVE,
    ).ddl_if(dialect="postgresql"),
    # ``q`` on PostgreSQL: the stored words become lexemes as they are (no text parser
    # in between, so ``foo_bar`` stays one word, as in the core's search rules).
    Index(
        "ix_images_search",
        text("array_to_tsvector(string_to_array(search_text, ' '))"),
        postgresql_using="gin",
        postgresql_where=_LIVE,
    ).ddl_if(dialect="postgresql"),
    sqlite_autoincrement=True,
)


def phash_band(shift: int) -> ColumnElement[int]:
    """``(phash >> shift) & 65535``: one hash band (``rules.similar.band``), as its
    index has it. The numbers are literal SQL, not parameters: both databases use an
    index on an expression only for a query that spells the same expression."""
    shifted = images.c.phash.op(">>")(literal_column(str(shift)))
    return shifted.op("&")(literal_column(str(BAND_MASK)))


# ``similar``: each band's value beside the hash, per team, for the live hashed images
# (see docs/images.md); a query probes each band's index for a few values
for _shift in BAND_SHIFTS:
    Index(
        f"ix_images_phash_band{_shift}",
        images.c.team_id,
        phash_band(_shift),
        images.c.phash,
        images.c.id,
        sqlite_where=_HASHED,
        postgresql_where=_HASHED,
    )


image_tags = Table(
    "image_tags",
    metadata,
    Column(
        "image_id",
        Id,
        ForeignKey("images.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("tag_lower", String(200), primary_key=True),
    Column("team_id", Id, ForeignKey("teams.id"), nullable=False),
    # copies of the image's, kept by the repository and a trigger (migration 0005):
    # a tag's images in date order are one index range
    Column("created_at", UTCDateTime, nullable=False),
    Column("live", Boolean, nullable=False),
    Index("ix_image_tags_lookup", "team_id", "tag_lower", "image_id"),
    Index("ix_image_tags_newest", "team_id", "tag_lower", "live", "created_at", "image_id"),
)

#: one row per distinct word of an image's ``search_text`` with copies of its
#: ``created_at`` and liveness, kept by triggers on ``images`` (migration 0006): the
#: images holding a word, in date order, are one index range (``q`` lists)
image_words = Table(
    "image_words",
    metadata,
    Column("image_id", Id, primary_key=True, autoincrement=False),
    # PostgreSQL: byte order whatever the database's collation, so the words that start
    # with a prefix are one range of the index (as on SQLite)
    Column("word", Text().with_variant(Text(collation="C"), "postgresql"), primary_key=True),
    Column("team_id", Id, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("live", Boolean, nullable=False),
    Index("ix_image_words_newest", "team_id", "word", "live", "created_at", "image_id"),
    sqlite_with_rowid=False,
)

edit_sessions = Table(
    "edit_sessions",
    metadata,
    _id(),
    _team(),
    Column("root_id", Id, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)

jobs = Table(
    "jobs",
    metadata,
    _id(),
    _team(),
    Column("kind", StrEnumType(JobKind), nullable=False),
    Column("status", StrEnumType(JobStatus), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("run_after", UTCDateTime, nullable=True),
    Column("lease_owner", String(200), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("error", Text, nullable=True),
    Column("result", JSON(none_as_null=True), nullable=True),
    Column("started_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    # The fair queue (rankion_core.rules.fairness): a claim walks its lane in
    # (turn, id) order; only queued and running jobs are in the index.
    Column("lane", String(16), nullable=False, server_default="image"),
    Column("turn", BigInteger, nullable=False, server_default="0"),
    Index(
        "ix_jobs_claim",
        "lane",
        "turn",
        "id",
        sqlite_where=text(ACTIVE_JOB_STATUSES),
        postgresql_where=text(ACTIVE_JOB_STATUSES),
    ),
    # A team's latest turn in a lane, read when one of its jobs is queued.
    Index(
        "ix_jobs_turns",
        "team_id",
        "lane",
        "turn",
        sqlite_where=text(ACTIVE_JOB_STATUSES),
        postgresql_where=text(ACTIVE_JOB_STATUSES),
    ),
    Index(
        "ix_jobs_active",
        "team_id",
        "kind",
        sqlite_where=text(ACTIVE_JOB_STATUSES),
        postgresql_where=text(ACTIVE_JOB_STATUSES),
    ),
    Index("ix_jobs_team_id", "team_id", "id"),
    sqlite_autoincrement=True,
)

shares = Table(
    "shares",
    metadata,
    _id(),
    _team(),
    Column("image_id", Id, ForeignKey("images.id", ondelete="CASCADE"), nullable=False),
    Column("token", String(200), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("view_count", Integer, nullable=False),
    Index("ix_shares_image_id", "image_id", "id"),
    sqlite_autoincrement=True,
)

chat_sessions = Table(
    "chat_sessions",
    metadata,
    _id(),
    _team(),
    Column(
        "gallery_image_id",
        Id,
        ForeignKey("images.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("user_id", Id, ForeignKey("users.id"), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    sqlite_autoincrement=True,
)

exports = Table(
    "exports",
    metadata,
    Column("job_id", Id, ForeignKey("jobs.id"), primary_key=True, autoincrement=False),
    _team(),
    Column("ids", JSON, nullable=False),
    Column("status", StrEnumType(ExportStatus), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("done", Integer, nullable=False),
    Column("total", Integer, nullable=False),
    Column("blob_key", String(255), nullable=True),
    Column("size_bytes", Integer, nullable=True),
    Column("expires_at", UTCDateTime, nullable=True, index=True),
    Column("error", Text, nullable=True),
    Column("skipped_ids", JSON, nullable=False),
    # a team's ZIPs still kept (``ExportRepository.kept``, asked before each export)
    Index("ix_exports_team_id_expires_at", "team_id", "expires_at"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    _id(),
    _team(),
    Column("delta", Integer, nullable=False),
    Column("reason", String(50), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("image_id", Id, nullable=True),
    Column("job_id", Id, nullable=True),
    # NULLs are distinct in a UNIQUE constraint on both dialects: only entries of a
    # job are constrained, so a refund can never be written twice.
    UniqueConstraint("job_id", "reason", name="uq_ledger_entries_job_id_reason"),
    Index("ix_ledger_entries_list", "team_id", "created_at", "id"),
    # an image's charge, and so the job drawing it (``LedgerRepository.job_of_image``)
    Index("ix_ledger_entries_image_id", "image_id", "id"),
    sqlite_autoincrement=True,
)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("team_id", Id, ForeignKey("teams.id"), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("completed", Boolean, nullable=False),
    Column("status", Integer, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("headers", JSON, nullable=False),
)

# Webhooks: subscriptions and their deliveries; a delivery's key is its job.
webhooks = Table(
    "webhooks",
    metadata,
    _id(),
    _team(),
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False),
    Column("secret", String(100), nullable=False),
    Column("description", String(200), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_webhooks_team_id", "team_id", "id"),
    sqlite_autoincrement=True,
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("job_id", Id, ForeignKey("jobs.id"), primary_key=True, autoincrement=False),
    _team(),
    Column("webhook_id", Id, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(50), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
    Index("ix_webhook_deliveries_list", "webhook_id", "job_id"),
)

#: one iCalendar feed token per project, kept as a SHA-256 digest
calendar_feeds = Table(
    "calendar_feeds",
    metadata,
    Column("project_id", Id, ForeignKey("projects.id"), primary_key=True, autoincrement=False),
    _team(),
    Column("digest", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

#: how many non-trashed images each team has, kept exact by triggers on ``images``
#: (migration ``0004_image_counts``) so an unfiltered list's total is one row read
image_counts = Table(
    "image_counts",
    metadata,
    Column("team_id", Id, primary_key=True, autoincrement=False),
    Column("live", Integer, nullable=False),
)

#: how many projects, calendar events and chat sessions each team has, kept by
#: triggers (migration ``0017_team_counts``): what the per-team caps are checked
#: against, one row read (a team without a row has none)
team_counts = Table(
    "team_counts",
    metadata,
    Column("team_id", Id, primary_key=True, autoincrement=False),
    Column("projects", Integer, nullable=False, server_default="0"),
    Column("calendar_events", Integer, nullable=False, server_default="0"),
    Column("chat_sessions", Integer, nullable=False, server_default="0"),
)
