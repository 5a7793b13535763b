"""API tokens may expire, and note when they were last used.

``expires_at`` (null: valid until revoked) and ``last_used_at`` (kept to the minute);
revoking deletes the row. An index on ``(team_id, id)`` serves a team's token list.

Revision ID: 0008_token_expiry
Revises: 0006_word_order
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rankion_sqlalchemy.types import UTCDateTime

revision: str = "0008_token_expiry"
down_revision: str | Sequence[str] | None = "0006_word_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_tokens", sa.Column("expires_at", UTCDateTime(), nullable=True))
    op.add_column("api_tokens", sa.Column("last_used_at", UTCDateTime(), nullable=True))
    op.create_index("ix_api_tokens_team_id_id", "api_tokens", ["team_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_api_tokens_team_id_id", table_name="api_tokens")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("last_used_at")
        batch.drop_column("expires_at")
