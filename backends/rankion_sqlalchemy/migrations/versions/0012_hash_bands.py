"""Hash bands: an index per 16-bit band of ``phash`` for ``similar``.

Each ``ix_images_phash_band<shift>`` holds ``(team_id, (phash >> shift) & 65535,
phash, id)`` for the live, hashed images, so ``similar`` at small distances probes a
few band values per index instead of reading the team's every hash (the bands are
``rankion_core.rules.similar``'s). The indexes are on expressions of ``phash``:
building them indexes every existing hash, and the databases keep them as hashes are
set, images trashed, restored and deleted; nothing else is written.

Revision ID: 0012_hash_bands
Revises: 0011_web_ready
Create Date: 2026-12-06 02:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_hash_bands"
down_revision: str | Sequence[str] | None = "0011_web_ready"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HASHED = "deleted_at IS NULL AND phash IS NOT NULL"
SHIFTS = (48, 32, 16, 0)


def upgrade() -> None:
    for shift in SHIFTS:
        op.create_index(
            f"ix_images_phash_band{shift}",
            "images",
            ["team_id", sa.text(f"((phash >> {shift}) & 65535)"), "phash", "id"],
            sqlite_where=sa.text(HASHED),
            postgresql_where=sa.text(HASHED),
        )


def downgrade() -> None:
    for shift in SHIFTS:
        op.drop_index(f"ix_images_phash_band{shift}", table_name="images")
