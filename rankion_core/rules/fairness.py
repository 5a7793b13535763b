"""Fair claims: start-time fair queuing of jobs between teams, per lane.

Jobs run in lanes (image work, exports, webhook deliveries), each with its own
workers, so one kind of work never waits behind another. Inside a lane every job
carries a ``turn``, given when it is queued (and again when a retry puts it back):

    turn = max(floor, the team's last turn in the lane + 1)

``floor`` is the lane's virtual time: the lowest turn among its active (queued or
running) jobs, 0 when it has none. A claim takes the ready job with the lowest
``(turn, id)``. A team with a backlog holds turns ``floor, floor+1, …``; another
team's first job gets ``floor`` and is claimed before the backlog's second job. A
retried job is given a turn behind its own team's queued jobs, so it never jumps the
queue. The storage adapters read the two numbers through an index (no scan of teams)
and call ``next_turn``; the claim is one index walk in ``(lane, turn, id)`` order.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from ..models import JobKind

__all__ = ["LANE_KINDS", "Lane", "lane_of", "lanes_of", "next_turn"]


class Lane(StrEnum):
    IMAGE = "image"
    EXPORT = "export"
    WEBHOOK = "webhook"


#: the kinds each lane runs, in the order a claimer for several lanes tries them
LANE_KINDS: dict[Lane, tuple[JobKind, ...]] = {
    Lane.IMAGE: (JobKind.GENERATE, JobKind.EDIT),
    Lane.EXPORT: (JobKind.EXPORT,),
    Lane.WEBHOOK: (JobKind.WEBHOOK,),
}
_LANE_OF = {kind: lane for lane, kinds in LANE_KINDS.items() for kind in kinds}


def lane_of(kind: JobKind) -> Lane:
    return _LANE_OF[kind]


def lanes_of(kinds: Iterable[JobKind]) -> list[tuple[Lane, list[JobKind]]]:
    """``kinds`` grouped by lane, lanes in ``LANE_KINDS`` order, empty lanes left out."""
    wanted = set(kinds)
    grouped = ((lane, [k for k in members if k in wanted]) for lane, members in LANE_KINDS.items())
    return [(lane, chosen) for lane, chosen in grouped if chosen]


def next_turn(floor: int | None, team_last: int | None) -> int:
    """The turn of a job queued now: not before the lane's virtual time (``floor``,
    None when the lane has no active job), and after the team's own latest turn
    (``team_last``, None when the team has no active job in the lane)."""
    start = floor if floor is not None else 0
    if team_last is None:
        return start
    return max(start, team_last + 1)
