"""Web-ready images: placeholder, perceptual hash, clean public copy, renditions.

``placeholder`` is the ThumbHash (base64), ``phash`` the 64-bit perceptual hash as a
signed ``BIGINT``, ``public_key`` the blob of the original without metadata (when it
had some), ``renditions`` the WebP/AVIF copies as JSON. ``ix_images_phash`` holds the
live, hashed images' ``(team_id, phash, id)``, so ``similar`` reads a team's hashes
from the index alone.

Revision ID: 0011_web_ready
Revises: 0010_fair_turns
Create Date: 2026-12-05 13:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_web_ready"
down_revision: str | Sequence[str] | None = "0010_fair_turns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HASHED = "deleted_at IS NULL AND phash IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("placeholder", sa.String(64), nullable=True))
        batch.add_column(sa.Column("phash", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("public_key", sa.String(255), nullable=True))
        batch.add_column(sa.Column("renditions", sa.JSON(), nullable=False, server_default="[]"))
    op.create_index(
        "ix_images_phash",
        "images",
        ["team_id", "phash", "id"],
        sqlite_where=sa.text(HASHED),
        postgresql_where=sa.text(HASHED),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_images_phash",
        table_name="images",
        sqlite_where=sa.text(HASHED),
        postgresql_where=sa.text(HASHED),
    )
    with op.batch_alter_table("images") as batch:
        batch.drop_column("renditions")
        batch.drop_column("public_key")
        batch.drop_column("phash")
        batch.drop_column("placeholder")
