"""On PostgreSQL, a team's image count is changed when its transaction commits.

``image_counts_track`` kept ``image_counts`` exact by changing the team's one row as
each image was inserted, trashed, restored or deleted: from that statement until the
commit, every other transaction writing the team's images waited on the row. A
generation inserts its image first and commits six statements later, so a team's
generations ran one at a time for most of their transactions.

The trigger is now a constraint trigger, ``DEFERRABLE INITIALLY DEFERRED``: the same
function, run for the same rows with the same ``OLD`` and ``NEW``, when the
transaction commits. The count is still exactly ``COUNT(*)`` of the team's live
images at every commit; only a read of ``image_counts`` inside a transaction that
changed images (nothing does) would see it before the change. SQLite is unchanged: a
writer there holds the whole database until it commits.

Revision ID: 0016_counts_at_commit
Revises: 0015_ledger_image
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0016_counts_at_commit"
down_revision: str | Sequence[str] | None = "0015_ledger_image"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_EVENTS = "AFTER INSERT OR DELETE OR UPDATE OF deleted_at, team_id ON images"
_RUN = "FOR EACH ROW EXECUTE FUNCTION image_counts_track()"


def _remake(trigger: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER image_counts_track ON images")
    op.execute(trigger)


def upgrade() -> None:
    _remake(
        f"CREATE CONSTRAINT TRIGGER image_counts_track {_EVENTS}"
        f" DEFERRABLE INITIALLY DEFERRED {_RUN}"
    )


def downgrade() -> None:
    _remake(f"CREATE TRIGGER image_counts_track {_EVENTS} {_RUN}")
