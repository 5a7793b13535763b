"""The initial schema.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

Dialect-specific parts: SQLite gets an FTS5 index of ``images.search_text`` kept in
sync by triggers; PostgreSQL gets a GIN index over the same words and an ``edited``
index with ``NULLS LAST``. Types are plain SQLAlchemy types (the application's
TypeDecorators store into exactly these).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = "deleted_at IS NULL"

# The tokenizer splits exactly where the core's ``\w+`` does: keep "_" inside words
# and keep accents (the stored words are already lowercased by Python).
SQLITE_FTS = [
    """CREATE VIRTUAL TABLE images_fts USING fts5(
        search_text, content='images', content_rowid='id',
        tokenize="unicode61 remove_diacritics 0 tokenchars '_'"
    )""",
    """CREATE TRIGGER images_fts_insert AFTER INSERT ON images BEGIN
        INSERT INTO images_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
    """CREATE TRIGGER images_fts_delete AFTER DELETE ON images BEGIN
        INSERT INTO images_fts(images_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    END""",
    """CREATE TRIGGER images_fts_update AFTER UPDATE OF search_text ON images
    WHEN old.search_text IS NOT new.search_text BEGIN
        INSERT INTO images_fts(images_fts, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
        INSERT INTO images_fts(rowid, search_text) VALUES (new.id, new.search_text);
    END""",
]


def dialect() -> str:
    return op.get_bind().dialect.name


def upgrade() -> None:

    op.create_table('teams',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('credits >= 0', name=op.f('ck_teams_credits_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('name', name=op.f('uq_teams_name')),
    sqlite_autoincrement=True
    )
    op.create_table('edit_sessions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('root_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_edit_sessions_team_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_edit_sessions')),
    sqlite_autoincrement=True
    )
    op.create_table('idempotency_records',
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('fingerprint', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Integer(), nullable=True),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_idempotency_records_team_id')),
    sa.PrimaryKeyConstraint('team_id', 'key', name=op.f('pk_idempotency_records'))
    )
    op.create_index(op.f('ix_idempotency_records_created_at'), 'idempotency_records', ['created_at'], unique=False)
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=200), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('result', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_jobs_team_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sqlite_autoincrement=True
    )
    op.create_index('ix_jobs_active', 'jobs', ['team_id', 'kind'], unique=False, sqlite_where=sa.text("status IN ('queued', 'running')"), postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.create_index('ix_jobs_claim', 'jobs', ['id'], unique=False, sqlite_where=sa.text("status IN ('queued', 'running')"), postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.create_index('ix_jobs_team_id', 'jobs', ['team_id', 'id'], unique=False)
    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=50), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=True),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_ledger_entries_team_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('job_id', 'reason', name='uq_ledger_entries_job_id_reason'),
    sqlite_autoincrement=True
    )
    op.create_index('ix_ledger_entries_list', 'ledger_entries', ['team_id', 'created_at', 'id'], unique=False)
    op.create_table('projects',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_projects_team_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects')),
    sqlite_autoincrement=True
    )
    op.create_index('ix_projects_team_id_id', 'projects', ['team_id', 'id'], unique=False)
    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_users_team_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('team_id', 'name', name='uq_users_team_id_name'),
    sqlite_autoincrement=True
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_api_tokens_team_id')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_api_tokens_prefix'), 'api_tokens', ['prefix'], unique=False)
    op.create_table('calendar_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_calendar_events_project_id')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_calendar_events_team_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_events')),
    sqlite_autoincrement=True
    )
    op.create_index('ix_calendar_events_list', 'calendar_events', ['team_id', 'project_id', 'scheduled_at', 'id'], unique=False)
    op.create_table('exports',
    sa.Column('job_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('blob_key', sa.String(length=255), nullable=True),
    sa.Column('size_bytes', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('skipped_ids', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_exports_job_id')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_exports_team_id')),
    sa.PrimaryKeyConstraint('job_id', name=op.f('pk_exports'))
    )
    op.create_index(op.f('ix_exports_expires_at'), 'exports', ['expires_at'], unique=False)
    op.create_table('images',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('size', sa.String(length=50), nullable=False),
    sa.Column('quality', sa.String(length=50), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('article_id', sa.Integer(), nullable=True),
    sa.Column('slot', sa.String(length=100), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=True),
    sa.Column('background', sa.String(length=50), nullable=True),
    sa.Column('output_format', sa.String(length=20), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('is_favorite', sa.Boolean(), nullable=False),
    sa.Column('processing_status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('blob_key', sa.String(length=255), nullable=True),
    sa.Column('thumbnail_key', sa.String(length=255), nullable=True),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('mime_type', sa.String(length=100), nullable=True),
    sa.Column('bytes', sa.Integer(), nullable=True),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('root_id', sa.Integer(), nullable=True),
    sa.Column('edit_session_id', sa.Integer(), nullable=True),
    sa.Column('credits_charged', sa.Integer(), nullable=False),
    sa.Column('share_views', sa.Integer(), nullable=False),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('purge_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_images_project_id')),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_images_team_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_images')),
    sqlite_autoincrement=True
    )
    op.create_index('ix_images_favorite', 'images', ['team_id', 'is_favorite', 'created_at', 'id'], unique=False, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_images_model', 'images', ['team_id', 'model', 'created_at', 'id'], unique=False, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_images_newest', 'images', ['team_id', 'created_at', 'id'], unique=False, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_images_project', 'images', ['team_id', 'project_id', 'created_at', 'id'], unique=False, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_images_purge', 'images', ['purge_at', 'id'], unique=False, sqlite_where=sa.text('deleted_at IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NOT NULL'))
    op.create_index('ix_images_root', 'images', ['team_id', 'root_id'], unique=False)
    op.create_index('ix_images_status', 'images', ['team_id', 'processing_status', 'created_at', 'id'], unique=False, sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
    op.create_index('ix_images_trash', 'images', ['team_id', 'deleted_at', 'id'], unique=False, sqlite_where=sa.text('deleted_at IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NOT NULL'))
    op.create_table('chat_sessions',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('gallery_image_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['gallery_image_id'], ['images.id'], name=op.f('fk_chat_sessions_gallery_image_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_chat_sessions_team_id')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_chat_sessions_user_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_sessions')),
    sqlite_autoincrement=True
    )
    op.create_index(op.f('ix_chat_sessions_gallery_image_id'), 'chat_sessions', ['gallery_image_id'], unique=False)
    op.create_table('image_tags',
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('tag_lower', sa.String(length=200), nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], name=op.f('fk_image_tags_image_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_image_tags_team_id')),
    sa.PrimaryKeyConstraint('image_id', 'tag_lower', name=op.f('pk_image_tags'))
    )
    op.create_index('ix_image_tags_lookup', 'image_tags', ['team_id', 'tag_lower', 'image_id'], unique=False)
    op.create_table('shares',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.Integer(), nullable=False),
    sa.Column('image_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('view_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['image_id'], ['images.id'], name=op.f('fk_shares_image_id'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_shares_team_id')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shares')),
    sa.UniqueConstraint('token', name=op.f('uq_shares_token')),
    sqlite_autoincrement=True
    )
    op.create_index('ix_shares_image_id', 'shares', ['image_id', 'id'], unique=False)

    if dialect() == "sqlite":
        create_sqlite_only()
    else:
        create_postgresql_only()


def create_sqlite_only() -> None:
    op.create_index(
        "ix_images_edited", "images", ["team_id", "edited_at", "id"],
        sqlite_where=sa.text(LIVE),
    )
    for statement in SQLITE_FTS:
        op.execute(statement)


def create_postgresql_only() -> None:
    op.create_index(
        "ix_images_edited_pg", "images",
        [sa.text("team_id"), sa.text("edited_at DESC NULLS LAST"), sa.text("id DESC")],
        postgresql_where=sa.text(LIVE),
    )
    op.create_index(
        "ix_images_search", "images",
        [sa.text("array_to_tsvector(string_to_array(search_text, ' '))")],
        postgresql_using="gin", postgresql_where=sa.text(LIVE),
    )


def downgrade() -> None:
    if dialect() == "sqlite":
        for name in ("images_fts_insert", "images_fts_delete", "images_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS images_fts")
        op.drop_index("ix_images_edited", table_name="images")
    else:
        op.drop_index("ix_images_search", table_name="images")
        op.drop_index("ix_images_edited_pg", table_name="images")

    op.drop_index('ix_shares_image_id', table_name='shares')
    op.drop_table('shares')
    op.drop_index('ix_image_tags_lookup', table_name='image_tags')
    op.drop_table('image_tags')
    op.drop_index(op.f('ix_chat_sessions_gallery_image_id'), table_name='chat_sessions')
    op.drop_table('chat_sessions')
    op.drop_index('ix_images_trash', table_name='images', sqlite_where=sa.text('deleted_at IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NOT NULL'))
    op.drop_index('ix_images_status', table_name='images', sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_index('ix_images_root', table_name='images')
    op.drop_index('ix_images_purge', table_name='images', sqlite_where=sa.text('deleted_at IS NOT NULL'), postgresql_where=sa.text('deleted_at IS NOT NULL'))
    op.drop_index('ix_images_project', table_name='images', sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_index('ix_images_newest', table_name='images', sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_index('ix_images_model', table_name='images', sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_index('ix_images_favorite', table_name='images', sqlite_where=sa.text('deleted_at IS NULL'), postgresql_where=sa.text('deleted_at IS NULL'))
    op.drop_table('images')
    op.drop_index(op.f('ix_exports_expires_at'), table_name='exports')
    op.drop_table('exports')
    op.drop_index('ix_calendar_events_list', table_name='calendar_events')
    op.drop_table('calendar_events')
    op.drop_index(op.f('ix_api_tokens_prefix'), table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_index('ix_projects_team_id_id', table_name='projects')
    op.drop_table('projects')
    op.drop_index('ix_ledger_entries_list', table_name='ledger_entries')
    op.drop_table('ledger_entries')
    op.drop_index('ix_jobs_team_id', table_name='jobs')
    op.drop_index('ix_jobs_claim', table_name='jobs', sqlite_where=sa.text("status IN ('queued', 'running')"), postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.drop_index('ix_jobs_active', table_name='jobs', sqlite_where=sa.text("status IN ('queued', 'running')"), postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.drop_table('jobs')
    op.drop_index(op.f('ix_idempotency_records_created_at'), table_name='idempotency_records')
    op.drop_table('idempotency_records')
    op.drop_table('edit_sessions')
    op.drop_table('teams')
