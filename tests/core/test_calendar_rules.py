"""Property tests of the calendar rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rankion_core.errors import Conflict, Invalid
from rankion_core.models import CalendarEvent, EventStatus, EventType
from rankion_core.rules.calendar import EventChange, EventDraft, apply_change, new_event

NOW = datetime(2026, 5, 1, tzinfo=UTC)
statuses = st.sampled_from(list(EventStatus))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
aware = st.builds(
    lambda dt, tz: dt.replace(tzinfo=tz),
    st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2090, 1, 1)),
    offsets,
)
maybe_time = st.none() | aware


def make(status: EventStatus, at: datetime | None) -> CalendarEvent:
    return new_event(
        EventDraft(title="t", status=status, scheduled_at=at), team_id=1, project_id=1, now=NOW
    )


@given(status=statuses, at=maybe_time)
def test_a_date_is_required_unless_idea(status: EventStatus, at: datetime | None) -> None:
    if at is None and status is not EventStatus.IDEA:
        with pytest.raises(Invalid):
            make(status, at)
    else:
        event = make(status, at)
        assert event.scheduled_at is None or event.scheduled_at.tzinfo is UTC
        assert event.scheduled_at == at  # the same instant, normalised to UTC


def test_naive_times_are_rejected() -> None:
    with pytest.raises(Invalid):
        make(EventStatus.PLANNED, datetime(2026, 5, 15, 9))


@given(
    start=maybe_time, change_status=st.none() | statuses, change_at=maybe_time, clear=st.booleans()
)
def test_published_events_are_history(
    start: datetime | None,
    change_status: EventStatus | None,
    change_at: datetime | None,
    clear: bool,
) -> None:
    event = make(EventStatus.PUBLISHED, start or NOW)
    before = (event.status, event.scheduled_at)
    change = EventChange(status=change_status, scheduled_at=change_at, clear_scheduled_at=clear)
    target_status = change_status or EventStatus.PUBLISHED
    target_at = None if clear else (change_at or event.scheduled_at)
    allowed = target_status in (EventStatus.PUBLISHED, EventStatus.CANCELLED) and (
        target_at == event.scheduled_at
    )
    if allowed:
        apply_change(event, change, now=NOW)
        assert event.scheduled_at == before[1]
    else:
        with pytest.raises(Conflict) as caught:
            apply_change(event, change, now=NOW)
        assert caught.value.code == "event_published"
        assert (event.status, event.scheduled_at) == before  # nothing changed


@given(target=statuses, at=maybe_time)
def test_an_undated_idea_moves_only_with_a_date(target: EventStatus, at: datetime | None) -> None:
    event = make(EventStatus.IDEA, None)
    change = EventChange(status=target, scheduled_at=at)
    if target is not EventStatus.IDEA and at is None:
        with pytest.raises(Invalid):
            apply_change(event, change, now=NOW)
        assert event.status is EventStatus.IDEA
    else:
        apply_change(event, change, now=NOW)
        assert event.status is target


@given(title=st.text(max_size=250), type_=st.sampled_from(list(EventType)))
def test_titles_are_one_to_two_hundred_characters(title: str, type_: EventType) -> None:
    draft = EventDraft(title=title, type=type_, scheduled_at=NOW)
    if 1 <= len(title.strip()) <= 200:
        assert new_event(draft, team_id=1, project_id=1, now=NOW).title == title.strip()
    else:
        with pytest.raises(Invalid):
            new_event(draft, team_id=1, project_id=1, now=NOW)


def test_fields_not_sent_keep_their_value() -> None:
    event = make(EventStatus.SCHEDULED, NOW)
    event.notes, event.article_id = "n", 88
    apply_change(event, EventChange(title="new"), now=NOW)
    assert (event.title, event.notes, event.article_id, event.scheduled_at) == ("new", "n", 88, NOW)
    apply_change(event, EventChange(clear_notes=True, clear_article_id=True), now=NOW)
    assert (event.notes, event.article_id) == (None, None)
