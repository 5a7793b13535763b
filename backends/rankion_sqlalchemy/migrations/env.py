"""Alembic environment: run by ``SqlStorage.migrate()`` with a live connection.

``alembic`` on the command line also works (``-x url=sqlite:///x.db``) for writing
new revisions with ``--autogenerate``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from rankion_sqlalchemy.engine import create_engine
from rankion_sqlalchemy.schema import include_object, metadata_for

#: Held for the migration's transaction on PostgreSQL, so that N processes starting at
#: once migrate one after the other (SQLite's BEGIN IMMEDIATE already does that).
ADVISORY_LOCK = 0x52414E4B  # "RANK"


def run_on(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
    context.configure(
        connection=connection,
        target_metadata=metadata_for(connection.dialect.name),
        include_object=include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_on)
    finally:
        await engine.dispose()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_on(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise RuntimeError("give a database: -x url=sqlite:///path.db")
    asyncio.run(run_from_url(url))


main()
