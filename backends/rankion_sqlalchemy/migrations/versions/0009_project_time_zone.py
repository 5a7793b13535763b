"""Projects carry an IANA time zone; per-day calendar counts get their own index.

``projects.time_zone`` (default ``UTC``) decides a calendar's local days and
wall-clock times. ``ix_calendar_events_days`` is ``(team_id, project_id, status,
scheduled_at)``: ``GET …/calendar/days`` counts one range of it per local day and
status, reading the index alone.

Revision ID: 0009_project_time_zone
Revises: 0008_token_expiry
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_project_time_zone"
down_revision: str | Sequence[str] | None = "0008_token_expiry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.add_column(
            sa.Column("time_zone", sa.String(length=64), nullable=False, server_default="UTC")
        )
    op.create_index(
        "ix_calendar_events_days",
        "calendar_events",
        ["team_id", "project_id", "status", "scheduled_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_calendar_events_days", table_name="calendar_events")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("time_zone")
