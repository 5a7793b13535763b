"""Calendar feed rules: token shape and strength, digests, the iCalendar status map."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rankion_core.models import CalendarEvent, EventStatus, EventType, Project
from rankion_core.rules import feeds


def test_a_new_token_carries_256_bits_and_only_its_digest_is_kept() -> None:
    token, feed = feeds.new_feed(team_id=1, project_id=2, now=datetime(2026, 1, 1, tzinfo=UTC))
    assert token.startswith("rkf_")
    assert len(token.removeprefix("rkf_")) == 43  # 32 bytes, URL-safe base64
    assert feeds.plausible(token)
    assert feed.digest == feeds.digest(token) != token
    assert token not in repr(feed)
    assert (feed.team_id, feed.project_id) == (1, 2)


def test_tokens_do_not_repeat() -> None:
    assert len({feeds.new_token() for _ in range(1000)}) == 1000


@given(st.text(max_size=200))
def test_plausible_never_raises_and_needs_the_prefix(text: str) -> None:
    if feeds.plausible(text):
        assert text.startswith("rkf_")
        assert text.isascii()
        assert 20 <= len(text) <= 128


@given(st.text(min_size=1), st.text(min_size=1))
def test_digests_are_deterministic_and_tell_tokens_apart(a: str, b: str) -> None:
    assert feeds.digest(a) == feeds.digest(a)
    assert (feeds.digest(a) == feeds.digest(b)) is (a == b)
    assert len(feeds.digest(a)) == 64


@given(st.sampled_from(list(EventStatus)))
def test_every_status_has_an_icalendar_status(status: EventStatus) -> None:
    assert feeds.ics_status(status) in {"TENTATIVE", "CONFIRMED", "CANCELLED"}


def test_the_status_map_reads_as_documented() -> None:
    assert {s.value: feeds.ics_status(s) for s in EventStatus} == {
        "idea": "TENTATIVE",
        "planned": "TENTATIVE",
        "scheduled": "CONFIRMED",
        "published": "CONFIRMED",
        "cancelled": "CANCELLED",
    }


def test_a_feeds_version_changes_with_whatever_its_bytes_depend_on() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)

    def event(n: int, changed: int = 0) -> CalendarEvent:
        at = t0 + timedelta(days=n)
        updated = t0 + timedelta(seconds=changed)
        return CalendarEvent(
            n, 1, 2, "t", EventType.ARTICLE, EventStatus.PLANNED, at, None, None, t0, updated
        )

    project = Project(2, 1, "Blog", t0, "Europe/Berlin")
    events = [event(1), event(2), event(3)]
    same = feeds.version(project, [event(1), event(2), event(3)])
    assert feeds.version(project, events) == same
    assert feeds.version(Project(2, 1, "Blog 2", t0, "Europe/Berlin"), events) != same
    assert feeds.version(Project(2, 1, "Blog", t0, "UTC"), events) != same
    assert feeds.version(project, [event(1), event(2, changed=1), event(3)]) != same
    assert feeds.version(project, events[:2]) != same  # one deleted
    assert feeds.version(project, [event(2), event(3), event(4)]) != same  # a window moved on
    assert feeds.version(project, []) == ("Blog", "Europe/Berlin", (), None)
