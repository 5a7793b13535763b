"""The stored words of each image, in date order per word.

``?q=dosapu`` (a word on 0.4 % of 1M images) had no index in date order: SQLite either
looked up every FTS5 match and sorted them, or walked the team's date index testing
each row (~4,400 rows visited either way). ``image_words`` holds one row per distinct
word of ``images.search_text`` with the image's ``created_at`` and whether it is live,
indexed ``(team_id, word, live, created_at, image_id)``: a prefix of a query word is a
handful of stored words, each an index range already in date order.

Triggers on ``images`` keep the rows exact whatever writes images (the repository,
the benchmark seed, a hand-written UPDATE): insert, delete, a change of
``search_text`` (the rows rewritten), a change of ``created_at`` or ``deleted_at``
(the copies followed). Words are ``\\w+`` and space-separated, so SQLite splits them
with ``json_each`` over ``["a","b"]`` (no word holds a quote or a backslash), and
PostgreSQL with ``string_to_array``.

Revision ID: 0006_word_order
Revises: 0005_tag_order
Create Date: 2026-11-28 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from rankion_sqlalchemy.types import UTCDateTime

revision: str = "0006_word_order"
down_revision: str | Sequence[str] | None = "0005_tag_order"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the words of ``{row}.search_text`` as a table of ``value`` (SQLite)
_SQLITE_WORDS = "json_each('[\"' || replace({row}.search_text, ' ', '\",\"') || '\"]')"
_SQLITE_INSERT = (
    "INSERT OR IGNORE INTO image_words (image_id, word, team_id, created_at, live)"
    " SELECT new.id, w.value, new.team_id, new.created_at, new.deleted_at IS NULL"
    f" FROM {_SQLITE_WORDS.format(row='new')} AS w WHERE w.value != ''"
)
SQLITE_TRIGGERS = {
    "image_words_insert": f"""CREATE TRIGGER image_words_insert AFTER INSERT ON images
    WHEN new.search_text != '' BEGIN
        {_SQLITE_INSERT};
    END""",
    "image_words_delete": """CREATE TRIGGER image_words_delete AFTER DELETE ON images BEGIN
        DELETE FROM image_words WHERE image_id = old.id;
    END""",
    "image_words_retext": f"""CREATE TRIGGER image_words_retext
    AFTER UPDATE OF search_text, team_id ON images
    WHEN old.search_text IS NOT new.search_text OR old.team_id IS NOT new.team_id BEGIN
        DELETE FROM image_words WHERE image_id = old.id;
        {_SQLITE_INSERT};
    END""",
    "image_words_follow": """CREATE TRIGGER image_words_follow
    AFTER UPDATE OF created_at, deleted_at ON images
    WHEN old.created_at IS NOT new.created_at
        OR (old.deleted_at IS NULL) IS NOT (new.deleted_at IS NULL) BEGIN
        UPDATE image_words SET created_at = new.created_at, live = (new.deleted_at IS NULL)
        WHERE image_id = new.id;
    END""",
}
SQLITE_BACKFILL = (
    "INSERT OR IGNORE INTO image_words (image_id, word, team_id, created_at, live)"
    " SELECT images.id, w.value, images.team_id, images.created_at, images.deleted_at IS NULL"
    f" FROM images, {_SQLITE_WORDS.format(row='images')} AS w"
    " WHERE images.search_text != '' AND w.value != ''"
)

_PG_INSERT = (
    "INSERT INTO image_words (image_id, word, team_id, created_at, live)"
    " SELECT NEW.id, w, NEW.team_id, NEW.created_at, NEW.deleted_at IS NULL"
    " FROM unnest(string_to_array(NEW.search_text, ' ')) AS w WHERE w <> ''"
    " ON CONFLICT DO NOTHING"
)
POSTGRES_FUNCTION = f"""CREATE FUNCTION image_words_track() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM image_words WHERE image_id = OLD.id;
    ELSIF TG_OP = 'INSERT' THEN
        {_PG_INSERT};
    ELSIF OLD.search_text IS DISTINCT FROM NEW.search_text
            OR OLD.team_id IS DISTINCT FROM NEW.team_id THEN
        DELETE FROM image_words WHERE image_id = OLD.id;
        {_PG_INSERT};
    ELSIF OLD.created_at IS DISTINCT FROM NEW.created_at
            OR (OLD.deleted_at IS NULL) IS DISTINCT FROM (NEW.deleted_at IS NULL) THEN
        UPDATE image_words SET created_at = NEW.created_at, live = (NEW.deleted_at IS NULL)
        WHERE image_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql"""
POSTGRES_TRIGGER = """CREATE TRIGGER image_words_track
    AFTER INSERT OR DELETE OR UPDATE OF search_text, team_id, created_at, deleted_at
    ON images FOR EACH ROW EXECUTE FUNCTION image_words_track()"""
POSTGRES_BACKFILL = (
    "INSERT INTO image_words (image_id, word, team_id, created_at, live)"
    " SELECT DISTINCT images.id, w, images.team_id, images.created_at,"
    " images.deleted_at IS NULL"
    " FROM images, unnest(string_to_array(images.search_text, ' ')) AS w WHERE w <> ''"
)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not sqlite:
        op.execute("LOCK TABLE images IN SHARE MODE")  # no write between copy and trigger
    op.create_table(
        "image_words",
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column(
            "word",
            sa.Text().with_variant(sa.Text(collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("image_id", "word"),
        sqlite_with_rowid=False,
    )
    if sqlite:
        op.execute(SQLITE_BACKFILL)
        for ddl in SQLITE_TRIGGERS.values():
            op.execute(ddl)
    else:
        op.execute(POSTGRES_BACKFILL)
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    # after the copy: building the index once is faster than keeping it while inserting
    op.create_index(
        "ix_image_words_newest",
        "image_words",
        ["team_id", "word", "live", "created_at", "image_id"],
        unique=False,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS image_words_track ON images")
        op.execute("DROP FUNCTION IF EXISTS image_words_track()")
    op.drop_index("ix_image_words_newest", table_name="image_words")
    op.drop_table("image_words")
