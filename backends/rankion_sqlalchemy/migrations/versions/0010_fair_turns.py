"""Fair claims between teams: each job's lane and turn, and the indexes claims walk.

A claim walked ``ix_jobs_claim (id)`` oldest first, so one team's backlog queued
ahead of everyone else. Jobs now carry ``lane`` (image, export, webhook: a function of
``kind``) and ``turn`` (``rankion_core.rules.fairness``); a claim walks
``ix_jobs_claim (lane, turn, id)`` and queuing a job reads a team's latest turn
through ``ix_jobs_turns (team_id, lane, turn)``. Queued and running jobs get turns
``0, 1, 2, …`` per team and lane in id order, so the backlog left by the old order
is served in turns too. Both columns keep a server default (``image``, ``0``), so a
row written without them (a seed script, an older process during a rolling upgrade)
still lands in a lane.

Revision ID: 0010_fair_turns
Revises: 0009_project_time_zone
Create Date: 2026-12-05 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0010_fair_turns"
down_revision: str | Sequence[str] | None = "0009_project_time_zone"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status IN ('queued', 'running')"
_LANE = (
    "CASE kind WHEN 'export' THEN 'export' WHEN 'webhook' THEN 'webhook' ELSE 'image' END"
)
_BACKFILL = f"""UPDATE jobs SET turn = ranked.n FROM (
    SELECT id, row_number() OVER (PARTITION BY team_id, lane ORDER BY id) - 1 AS n
    FROM jobs WHERE {ACTIVE}
) AS ranked WHERE ranked.id = jobs.id"""


def _active() -> dict[str, Any]:
    return {"sqlite_where": sa.text(ACTIVE), "postgresql_where": sa.text(ACTIVE)}


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("lane", sa.String(16), nullable=False, server_default="image"))
        batch.add_column(sa.Column("turn", sa.BigInteger(), nullable=False, server_default="0"))
    op.execute(f"UPDATE jobs SET lane = {_LANE}")
    op.execute(_BACKFILL)
    op.drop_index("ix_jobs_claim", table_name="jobs", **_active())
    op.create_index("ix_jobs_claim", "jobs", ["lane", "turn", "id"], **_active())
    op.create_index("ix_jobs_turns", "jobs", ["team_id", "lane", "turn"], **_active())


def downgrade() -> None:
    op.drop_index("ix_jobs_turns", table_name="jobs", **_active())
    op.drop_index("ix_jobs_claim", table_name="jobs", **_active())
    op.create_index("ix_jobs_claim", "jobs", ["id"], **_active())
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("turn")
        batch.drop_column("lane")
