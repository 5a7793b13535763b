"""An index of the ledger by image, to find the job drawing an image.

An image does not record its job; its charge does (``ledger_entries.image_id`` and
``job_id``). ``ix_ledger_entries_image_id`` finds an image's entries at once, so the
web app's image page follows the job drawing it however many charges came since
(``LedgerRepository.job_of_image``).

Revision ID: 0015_ledger_image
Revises: 0014_export_team_expiry
Create Date: 2026-12-07 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0015_ledger_image"
down_revision: str | Sequence[str] | None = "0014_export_team_expiry"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_ledger_entries_image_id", "ledger_entries", ["image_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_ledger_entries_image_id", table_name="ledger_entries")
