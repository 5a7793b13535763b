"""Tag rows know their image's ``created_at`` and whether it is live.

``?tags[]=x`` newest (or oldest) first then walks one index in the wanted order,
``ix_image_tags_newest (team_id, tag_lower, live, created_at, image_id)``, instead of
testing the team's images one by one (a tag on 2 % of 1M images: 3,400 rows walked
per page) or sorting every match; and a tag's total is a range of that index. The
repository writes both columns with each tag row; a trigger keeps them equal to the
image's when an image's ``created_at`` or ``deleted_at`` changes, by whatever path.

Also the merge point of the three branches that followed 0001 (webhooks, calendar
feeds, image counts): from here on there is one head again.

Revision ID: 0005_tag_order
Revises: 0002_webhooks, 0003_calendar_feeds, 0004_image_counts
Create Date: 2026-11-28 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rankion_sqlalchemy.types import UTCDateTime

revision: str = "0005_tag_order"
down_revision: str | Sequence[str] | None = (
    "0002_webhooks",
    "0003_calendar_feeds",
    "0004_image_counts",
)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FOLLOW = (
    "UPDATE image_tags SET created_at = {new}.created_at, live = ({new}.deleted_at IS NULL)"
    " WHERE image_id = {new}.id"
)
#: only when a copied value changes: an image update writes every column
_CHANGED = (
    "old.created_at IS NOT new.created_at"
    " OR (old.deleted_at IS NULL) IS NOT (new.deleted_at IS NULL)"
)
SQLITE_TRIGGER = f"""CREATE TRIGGER image_tags_follow AFTER UPDATE OF created_at, deleted_at
    ON images WHEN {_CHANGED} BEGIN
        {_FOLLOW.format(new="new")};
    END"""
POSTGRES_FUNCTION = f"""CREATE FUNCTION image_tags_follow() RETURNS trigger AS $$
BEGIN
    {_FOLLOW.format(new="NEW")};
    RETURN NULL;
END
$$ LANGUAGE plpgsql"""
POSTGRES_TRIGGER = """CREATE TRIGGER image_tags_follow
    AFTER UPDATE OF created_at, deleted_at ON images FOR EACH ROW
    WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at
          OR (OLD.deleted_at IS NULL) IS DISTINCT FROM (NEW.deleted_at IS NULL))
    EXECUTE FUNCTION image_tags_follow()"""


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.execute("LOCK TABLE images IN SHARE MODE")  # no write between copy and trigger
    # Defaults only so existing rows can take the columns; they are copied just below.
    op.add_column(
        "image_tags",
        sa.Column(
            "created_at",
            UTCDateTime(),
            nullable=False,
            server_default=sa.text("'1970-01-01 00:00:00.000000'" if sqlite else "'epoch'"),
        ),
    )
    op.add_column(
        "image_tags",
        sa.Column("live", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    if sqlite:
        op.execute(
            "UPDATE image_tags SET"
            " created_at = (SELECT created_at FROM images WHERE images.id = image_tags.image_id),"
            " live = (SELECT deleted_at IS NULL FROM images WHERE images.id = image_tags.image_id)"
        )
        op.execute(SQLITE_TRIGGER)
    else:
        op.execute(
            "UPDATE image_tags SET created_at = images.created_at,"
            " live = (images.deleted_at IS NULL) FROM images WHERE images.id = image_tags.image_id"
        )
        op.alter_column("image_tags", "created_at", server_default=None)
        op.alter_column("image_tags", "live", server_default=None)
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    op.create_index(
        "ix_image_tags_newest",
        "image_tags",
        ["team_id", "tag_lower", "live", "created_at", "image_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_image_tags_newest", table_name="image_tags")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS image_tags_follow")
    else:
        op.execute("DROP TRIGGER IF EXISTS image_tags_follow ON images")
        op.execute("DROP FUNCTION IF EXISTS image_tags_follow()")
    op.drop_column("image_tags", "live")
    op.drop_column("image_tags", "created_at")
