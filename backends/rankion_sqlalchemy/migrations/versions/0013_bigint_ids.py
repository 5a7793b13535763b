"""64-bit ids on PostgreSQL: every id, and every column that holds one, becomes BIGINT.

The API takes ids from 1 to 2^63 − 1 (and external article ids as large); PostgreSQL's
INTEGER holds 2^31 − 1, so a larger id in a path, a filter or a body failed in the
driver instead of answering like a missing id. SQLite's INTEGER is 64-bit already: on
SQLite this migration does nothing. The id sequences become BIGINT too.

Revision ID: 0013_bigint_ids
Revises: 0012_hash_bands
Create Date: 2026-12-06 03:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_bigint_ids"
down_revision: str | Sequence[str] | None = "0012_hash_bands"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID_COLUMNS: dict[str, tuple[str, ...]] = {
    "teams": ("id",),
    "users": ("id", "team_id"),
    "api_tokens": ("id", "team_id", "user_id"),
    "projects": ("id", "team_id"),
    "calendar_events": ("id", "team_id", "project_id", "article_id"),
    "calendar_feeds": ("project_id", "team_id"),
    "images": (
        "id",
        "team_id",
        "project_id",
        "article_id",
        "parent_id",
        "root_id",
        "edit_session_id",
    ),
    "image_tags": ("image_id", "team_id"),
    "image_words": ("image_id", "team_id"),
    "image_counts": ("team_id",),
    "edit_sessions": ("id", "team_id", "root_id"),
    "jobs": ("id", "team_id"),
    "exports": ("job_id", "team_id"),
    "shares": ("id", "team_id", "image_id"),
    "chat_sessions": ("id", "team_id", "gallery_image_id", "user_id"),
    "ledger_entries": ("id", "team_id", "image_id", "job_id"),
    "idempotency_records": ("team_id",),
    "webhooks": ("id", "team_id"),
    "webhook_deliveries": ("job_id", "team_id", "webhook_id"),
}


def _retype(type_: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # PostgreSQL will not retype a column a trigger names (UPDATE OF …, WHEN …): the
    # triggers are set aside and made again, from their own definitions, afterwards.
    triggers = bind.execute(
        sa.text(
            "SELECT tgname, tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger"
            " WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY(:tables)"
        ),
        {"tables": list(ID_COLUMNS)},
    ).all()
    for name, table, _ in triggers:
        op.execute(sa.text(f'DROP TRIGGER "{name}" ON {table}'))
    for table, columns in ID_COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {column} TYPE {type_}" for column in columns)
        op.execute(sa.text(f"ALTER TABLE {table} {changes}"))
        if "id" in columns:
            op.execute(sa.text(f"ALTER SEQUENCE IF EXISTS {table}_id_seq AS {type_}"))
    for _, _, definition in triggers:
        op.execute(sa.text(definition))


def upgrade() -> None:
    _retype("BIGINT")


def downgrade() -> None:
    _retype("INTEGER")
