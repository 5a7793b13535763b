"""A team with a great deal of data reading it does not hold up another team (SQLite).

Team B holds 100,000 events in one project and 20,000 hashed images, inserted in
bulk straight into the database file (what hours of writes within its limits make).
Its deep calendar page, its year of per-day counts and its widest look-alike search
each cost what B holds. They must run on a reader thread of ``SqliteReads``, on a
read-only connection: not on the event loop (every request waits), not on SQLite's
one writer connection (every unit of work waits). The test holds B's read on its
reader until team A's requests (a unit of work reading, one writing, reads on the
loop) have all been answered: A could not be answered if it were queued behind B.
No timing is asserted: whether A gets through while B's read is held is structural.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rankion_core.models import EventStatus, ProcessingStatus
from rankion_core.ports import EventQuery, ImageQuery
from rankion_core.rules.similar import MAX_DISTANCE, to_signed
from rankion_core.services import EventChange, EventDraft
from rankion_core.testing.builders import add_images, image
from rankion_sqlalchemy import SqlStorage, open_storage
from rankion_sqlalchemy.sqlite_reads import SqliteReads
from tests.core.support import make_world, new_team

EVENTS = 100_000
IMAGES = 20_000
#: a deep page: past 49,500 of B's events
DEEP, PER_PAGE = 100, 500
#: how long a held read waits for its gate at most (a deadlock's guard, not a timing)
GUARD = 60.0


def seed_big_team(path: Path, team: int, project: int, image_id: int) -> None:
    """B's events and images, in bulk, in the test's SQLite file."""
    con = sqlite3.connect(path)
    try:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        stamp = "2026-01-01 00:00:00.000000"
        statuses = [EventStatus.IDEA, EventStatus.PLANNED, EventStatus.SCHEDULED]
        con.executemany(
            "INSERT INTO calendar_events (team_id, project_id, title, type, status,"
            " scheduled_at, article_id, notes, created_at, updated_at)"
            " VALUES (?, ?, ?, 'article', ?, ?, NULL, NULL, ?, ?)",
            (
                (
                    team,
                    project,
                    f"evt {n}",
                    statuses[n % 3].value,
                    (start + timedelta(minutes=5 * n)).strftime("%Y-%m-%d %H:%M:%S.%f"),
                    stamp,
                    stamp,
                )
                for n in range(EVENTS)
            ),
        )
        # copies of one image, each with a hash of its own
        columns = [row[1] for row in con.execute("PRAGMA table_info(images)")]
        copied = [c for c in columns if c not in ("id", "phash")]
        names = ", ".join(copied)
        con.execute(
            f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)"
            f" INSERT INTO images ({names}, phash)"
            f" SELECT {names}, random() FROM images, n WHERE images.id = ?",
            (IMAGES, image_id),
        )
        con.commit()
    finally:
        con.close()


@pytest.fixture
async def shared(tmp_path: Path) -> Any:
    storage = open_storage(f"sqlite:///{tmp_path / 'rankion.db'}")
    assert isinstance(storage, SqlStorage)
    await storage.migrate()
    yield storage, tmp_path / "rankion.db"
    await storage.close()


async def test_a_big_teams_slow_reads_run_on_a_reader_while_another_team_is_answered(
    shared: tuple[SqlStorage, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    storage, path = shared
    reads = storage.reads()
    assert isinstance(reads, SqliteReads)
    world = make_world(storage)
    calendar, gallery = world.app.calendar, world.app.gallery
    a = await new_team(world, name="victim")
    b = await new_team(world, name="attacker")
    project_a = await world.app.accounts.create_project(a, "A's blog", "UTC")
    project_b = await world.app.accounts.create_project(b, "B's blog", "Europe/Berlin")
    made = await calendar.create(
        a, project_a.id, EventDraft(title="launch", status=EventStatus.IDEA)
    )
    hashed = image(
        b.team_id, phash=to_signed(0x8F0F_1234_ABCD_0F01), processing_status=ProcessingStatus.READY
    )
    (source,) = await add_images(storage, hashed)
    seed_big_team(path, b.team_id, project_b.id, source.id)
    # A's requests once, so what they compile the first time is compiled
    await calendar.list(a, EventQuery(a.team_id, project_a.id, per_page=20))
    await gallery.list(a, ImageQuery(team_id=a.team_id))

    loop_thread = threading.current_thread().name
    answered: list[tuple[str, str]] = []  # (thread, read) of every answer given
    entered, gate = threading.Event(), threading.Event()
    snapshot = SqliteReads._snapshot

    def held(self: SqliteReads, read: Any, *args: Any, budget: float | None = None) -> Any:
        """A read on a reader thread waits for the gate (only B's go there here)."""
        thread = threading.current_thread().name
        if thread != loop_thread:
            entered.set()
            assert gate.wait(GUARD)
        found = snapshot(self, read, *args, budget=budget)
        answered.append((thread, getattr(read, "__name__", repr(read))))
        return found

    monkeypatch.setattr(SqliteReads, "_snapshot", held)

    deep = EventQuery(b.team_id, project_b.id, page=DEEP, per_page=PER_PAGE)
    year = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    attack = [
        asyncio.ensure_future(calendar.list(b, deep)),
        asyncio.ensure_future(calendar.days(b, project_b.id, *year)),
        asyncio.ensure_future(gallery.similar(b, source.id, MAX_DISTANCE, 1, 24)),
    ]
    try:
        # B's first read went over its budget on the loop and is now held on a reader
        assert await asyncio.to_thread(entered.wait, GUARD)
        assert not any(task.done() for task in attack)
        before = len(answered)

        # meanwhile A: a unit of work reading, one writing, reads on the loop
        got = await calendar.get(a, made.event.id)
        assert got.event.title == "launch"
        changed = await calendar.update(a, made.event.id, EventChange(title="launch day"))
        assert changed.event.title == "launch day"
        page = await calendar.list(a, EventQuery(a.team_id, project_a.id, per_page=20))
        assert [e.title for e in page.items] == ["launch day"]
        assert (await gallery.list(a, ImageQuery(team_id=a.team_id))).total == 0
        # SQLite's writer connection and this process's writer queue are free
        assert storage._inline is not None and not storage._inline.held
        assert storage._writer is not None and not storage._writer.locked()
        # A's reads were answered on the loop, B's still held
        assert {thread for thread, _ in answered[before:]} == {loop_thread}
        assert not any(task.done() for task in attack)
        after = len(answered)
    finally:
        gate.set()
        found = await asyncio.gather(*attack, return_exceptions=True)

    listed, days, similar = found
    assert not isinstance(listed, BaseException), listed
    assert not isinstance(days, BaseException), days
    assert not isinstance(similar, BaseException), similar
    assert (len(listed.items), listed.total) == (PER_PAGE, EVENTS)
    assert listed.items[0].title == f"evt {(DEEP - 1) * PER_PAGE}"
    in_2026 = sum(day.total for day in days)
    assert 0 < in_2026 <= EVENTS
    assert similar.total > 0 and similar.items[0].distance <= MAX_DISTANCE
    # B's three answers came from a reader thread
    assert [t.startswith("rankion-read") for t, _ in answered[after:]] == [True] * 3, answered
