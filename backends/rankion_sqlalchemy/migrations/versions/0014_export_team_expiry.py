"""An index of a team's exports by expiry, for the byte cap on kept export ZIPs.

Before each export the team's ZIPs still kept are summed (``ExportRepository.kept``);
the only index was on ``expires_at``, so that sum read every team's unexpired exports.
``ix_exports_team_id_expires_at`` reads the team's own.

Revision ID: 0014_export_team_expiry
Revises: 0013_bigint_ids
Create Date: 2026-12-07 01:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014_export_team_expiry"
down_revision: str | Sequence[str] | None = "0013_bigint_ids"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_exports_team_id_expires_at", "exports", ["team_id", "expires_at"])


def downgrade() -> None:
    op.drop_index("ix_exports_team_id_expires_at", table_name="exports")
