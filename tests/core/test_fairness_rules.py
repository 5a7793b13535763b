"""The fair-queue rule: turns given by ``next_turn`` make teams take turns."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rankion_core.models import JobKind
from rankion_core.rules.fairness import LANE_KINDS, Lane, lane_of, lanes_of, next_turn


class Queue:
    """One lane: jobs are ``(turn, id, team)``; a claim takes the lowest ``(turn, id)``
    and the job ends at once."""

    def __init__(self) -> None:
        self.jobs: list[tuple[int, int, int]] = []
        self.next_id = 1

    def add(self, team: int) -> int:
        floor = min((t for t, _, _ in self.jobs), default=None)
        last = max((t for t, _, owner in self.jobs if owner == team), default=None)
        job = (next_turn(floor, last), self.next_id, team)
        self.jobs.append(job)
        self.next_id += 1
        return job[1]

    def claim(self) -> tuple[int, int, int]:
        first = min(self.jobs)
        self.jobs.remove(first)
        return first


def test_next_turn_cases() -> None:
    assert next_turn(None, None) == 0
    assert next_turn(7, None) == 7
    assert next_turn(7, 3) == 7  # the team fell behind the lane: it starts at the floor
    assert next_turn(7, 9) == 10  # behind the team's own latest turn


@given(st.integers(0, 10**12) | st.none(), st.integers(0, 10**12) | st.none())
def test_a_turn_is_never_before_the_floor_nor_the_team_own_turns(
    floor: int | None, last: int | None
) -> None:
    turn = next_turn(floor, last)
    assert turn >= (floor or 0)
    if last is not None:
        assert turn > last


@given(
    backlog=st.lists(st.integers(1, 6), min_size=0, max_size=120),
    served=st.integers(0, 60),
)
def test_a_new_team_is_served_within_one_round(backlog: list[int], served: int) -> None:
    """Whatever other teams queued and however far the lane got, a team's first job
    waits for at most one job of each team with work."""
    queue = Queue()
    for team in backlog:
        queue.add(team)
    for _ in range(min(served, len(queue.jobs))):
        queue.claim()
    waiting_teams = len({owner for _, _, owner in queue.jobs})
    mine = queue.add(99)
    order = [queue.claim()[1] for _ in range(len(queue.jobs))]
    assert order.index(mine) <= waiting_teams


@given(st.lists(st.integers(1, 4), min_size=1, max_size=80))
def test_a_team_jobs_keep_their_order(backlog: list[int]) -> None:
    queue = Queue()
    ids = [(queue.add(team), team) for team in backlog]
    order = [queue.claim() for _ in range(len(ids))]
    for team in set(backlog):
        mine = [job_id for _, job_id, owner in order if owner == team]
        assert mine == sorted(mine)


def test_lanes_cover_every_kind_once() -> None:
    kinds = [k for members in LANE_KINDS.values() for k in members]
    assert sorted(kinds) == sorted(JobKind)
    assert lane_of(JobKind.WEBHOOK) is Lane.WEBHOOK
    assert lane_of(JobKind.EDIT) is Lane.IMAGE
    assert lanes_of([JobKind.WEBHOOK, JobKind.GENERATE]) == [
        (Lane.IMAGE, [JobKind.GENERATE]),
        (Lane.WEBHOOK, [JobKind.WEBHOOK]),
    ]
    assert lanes_of([]) == []
