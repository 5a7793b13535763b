"""Per-team counts of projects, calendar events and chat sessions, kept by triggers.

A team may have at most ``max_projects`` projects, ``max_calendar_events`` events
(all its projects together) and ``max_chat_sessions`` chat sessions. Counting a
team's rows before each create would cost a scan of up to 100,000 index entries on
the calendar's hot path, with SQLite's one writer held for every team; ``team_counts``
holds one row per team with the three counts, and a create reads that one row.

Triggers on ``projects``, ``calendar_events`` and ``chat_sessions`` add one when a row
is inserted and take one away when a row is deleted, however it is deleted (by a
statement, or with its image by ``ON DELETE CASCADE``); a row never changes team.
The upgrade counts the rows already there.

SQLite: plain triggers, run in the writing statement: the count is exact at every
moment, and as a writer holds the whole database until it commits, a create that
reads the count in its unit of work (or in its own statement) sees every other
create. PostgreSQL: constraint triggers ``DEFERRABLE INITIALLY DEFERRED``, as
``0016_counts_at_commit`` made ``image_counts_track``: the count's row is changed
when the transaction commits, so a team's concurrent creates never wait on it for a
whole transaction (only for the other's commit). The count is exactly ``COUNT(*)``
at every commit; a create reads the committed count, so creates of one team in flight
together may each see room (docs/security.md says what that allows).

Revision ID: 0017_team_counts
Revises: 0016_counts_at_commit
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_team_counts"
down_revision: str | Sequence[str] | None = "0016_counts_at_commit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: the counted tables; each has its column of ``team_counts``, of the same name
COUNTED = ("projects", "calendar_events", "chat_sessions")

_ADD = """INSERT INTO team_counts (team_id, {table}) VALUES ({team}, 1)
        ON CONFLICT (team_id) DO UPDATE SET {table} = team_counts.{table} + 1"""
_SUB = "UPDATE team_counts SET {table} = {table} - 1 WHERE team_id = {team}"


def _sqlite_triggers(table: str) -> dict[str, str]:
    return {
        f"team_counts_{table}_insert": f"""CREATE TRIGGER team_counts_{table}_insert
    AFTER INSERT ON {table} BEGIN
        {_ADD.format(table=table, team="new.team_id")};
    END""",
        f"team_counts_{table}_delete": f"""CREATE TRIGGER team_counts_{table}_delete
    AFTER DELETE ON {table} BEGIN
        {_SUB.format(table=table, team="old.team_id")};
    END""",
    }


def _postgres_function(table: str) -> str:
    return f"""CREATE FUNCTION team_counts_{table}() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_ADD.format(table=table, team="NEW.team_id")};
    ELSE
        {_SUB.format(table=table, team="OLD.team_id")};
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql"""


def _postgres_trigger(table: str) -> str:
    return f"""CREATE CONSTRAINT TRIGGER team_counts_{table}
    AFTER INSERT OR DELETE ON {table} DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION team_counts_{table}()"""


def _sqlite() -> bool:
    return bool(op.get_bind().dialect.name == "sqlite")


def upgrade() -> None:
    op.create_table(
        "team_counts",
        sa.Column(
            "team_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        *(
            sa.Column(table, sa.Integer(), server_default="0", nullable=False)
            for table in COUNTED
        ),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_team_counts")),
    )
    if _sqlite():
        for table in COUNTED:
            for ddl in _sqlite_triggers(table).values():
                op.execute(ddl)
    else:
        # no write between the count below and the triggers (until this commits)
        op.execute(f"LOCK TABLE {', '.join(COUNTED)} IN SHARE MODE")
        for table in COUNTED:
            op.execute(_postgres_function(table))
            op.execute(_postgres_trigger(table))
    counts = ", ".join(
        f"(SELECT COUNT(*) FROM {table} WHERE {table}.team_id = teams.id)" for table in COUNTED
    )
    op.execute(
        f"INSERT INTO team_counts (team_id, {', '.join(COUNTED)})"
        f" SELECT teams.id, {counts} FROM teams"
    )


def downgrade() -> None:
    for table in COUNTED:
        if _sqlite():
            for name in _sqlite_triggers(table):
                op.execute(f"DROP TRIGGER IF EXISTS {name}")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS team_counts_{table} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS team_counts_{table}()")
    op.drop_table("team_counts")
