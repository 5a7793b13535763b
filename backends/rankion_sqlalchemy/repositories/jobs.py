"""Jobs: the outbox and the queue, claimed under a lease and fenced by ``attempts``.

The queue is fair between teams (``rankion_core.rules.fairness``): a job's ``turn`` is
given from two index probes when it is queued or released, and a claim walks its
lane's index in ``(turn, id)`` order, whatever the number of teams.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select, update

from rankion_core.models import Job, JobKind, JobStatus
from rankion_core.rules.fairness import LANE_KINDS, Lane, lane_of, lanes_of, next_turn

from ..queries import ACTIVE_JOB, Condition, claimable
from ..rows import rows_of, values_of
from ..tables import jobs
from .base import Repository

__all__ = ["JobRepo"]

_c = jobs.c
_JOB = rows_of(Job)


_LANE = _c.lane == bindparam("lane")
#: the lowest turn queued in a lane, and the highest of one team there
#: built once and run with parameters (see ``base``)
_TURN_PROBES = select(
    select(_c.turn).where(ACTIVE_JOB, _LANE).order_by(_c.turn).limit(1).scalar_subquery(),
    select(_c.turn)
    .where(ACTIVE_JOB, _c.team_id == bindparam("team_id"), _LANE)
    .order_by(_c.turn.desc())
    .limit(1)
    .scalar_subquery(),
)


def _held(job_id: int, attempt: int) -> tuple[ColumnElement[bool], ...]:
    """The fence: the job is still running under ``attempt``."""
    return (_c.id == job_id, _c.status == JobStatus.RUNNING, _c.attempts == attempt)


class JobRepo(Repository):
    async def add(self, job: Job) -> Job:
        lane = lane_of(job.kind)
        job.turn = await self._turn(lane, job.team_id)
        return await self._add(job, lane=lane.value)

    async def _turn(self, lane: Lane, team_id: int) -> int:
        """The next turn of ``team_id`` in ``lane``: two probes of the turn indexes,
        in one statement."""
        params = {"lane": lane.value, "team_id": team_id}
        low, high = (await self.session.execute(_TURN_PROBES, params)).one()
        return next_turn(low, high)

    async def get(self, team_id: int, job_id: int) -> Job | None:
        return await self._first(_JOB, _JOB.select().where(_c.team_id == team_id, _c.id == job_id))

    async def get_any(self, job_id: int) -> Job | None:
        return await self._first(_JOB, _JOB.select().where(_c.id == job_id))

    async def claim(
        self,
        worker: str,
        now: datetime,
        lease_until: datetime,
        kinds: Sequence[JobKind] | None = None,
        *,
        skip_teams: Sequence[int] = (),
    ) -> Job | None:
        """Per lane the kinds belong to (in lane order), one ``UPDATE … WHERE id =
        (SELECT … ORDER BY turn, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING``.

        PostgreSQL skips rows another claimer has locked; SQLite has no row locks, but
        its unit of work began IMMEDIATE, so claims there run one at a time. The jobs
        of ``skip_teams`` are stepped over in the same walk of the lane's index.
        """
        for lane, chosen in lanes_of(list(JobKind) if kinds is None else kinds):
            job = await self._claim_in(lane, chosen, worker, now, lease_until, skip_teams)
            if job is not None:
                return job
        return None

    async def _claim_in(
        self,
        lane: Lane,
        kinds: Sequence[JobKind],
        worker: str,
        now: datetime,
        lease_until: datetime,
        skip_teams: Sequence[int],
    ) -> Job | None:
        where = claimable(now)
        where.append(_c.lane == lane.value)
        if set(kinds) != set(LANE_KINDS[lane]):
            where.append(_c.kind.in_(list(kinds)))
        if skip_teams:
            where.append(_c.team_id.not_in(sorted(set(skip_teams))))
        first = (
            select(_c.id)
            .where(*where)
            .order_by(_c.turn, _c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
            .correlate_except(jobs)  # its own FROM jobs, not the UPDATE's row
        )
        stmt = (
            update(jobs)
            .where(_c.id == first)
            .values(
                status=JobStatus.RUNNING,
                attempts=_c.attempts + 1,
                lease_owner=worker,
                lease_expires_at=lease_until,
                started_at=func.coalesce(_c.started_at, now),
            )
            .returning(*_JOB.columns)
        )
        return await self._returned(_JOB, stmt)

    async def heartbeat(self, job_id: int, attempt: int, lease_until: datetime) -> bool:
        return await self._fenced(job_id, attempt, lease_expires_at=lease_until)

    async def set_payload(self, job_id: int, attempt: int, payload: dict[str, Any]) -> bool:
        return await self._fenced(job_id, attempt, payload=dict(payload))

    async def finish(self, job: Job, attempt: int) -> bool:
        """Writes the whole ``job`` (its status, error, result, finished_at, …) at
        ``attempt``, with the lease cleared."""
        values = {k: v for k, v in values_of(job).items() if k != "id"}
        values.update(attempts=attempt, lease_owner=None, lease_expires_at=None)
        return await self._fenced(job.id, attempt, **values)

    async def release(
        self, job_id: int, attempt: int, run_after: datetime, error: str | None
    ) -> bool:
        """Back to ``queued`` with a new turn, behind the team's queued jobs."""
        held = (
            await self.session.execute(select(_c.team_id, _c.lane).where(*_held(job_id, attempt)))
        ).first()
        if held is None:
            return False
        turn = await self._turn(Lane(held.lane), held.team_id)
        return await self._fenced(
            job_id,
            attempt,
            turn=turn,
            status=JobStatus.QUEUED,
            run_after=run_after,
            error=error,
            lease_owner=None,
            lease_expires_at=None,
        )

    async def _fenced(self, job_id: int, attempt: int, **values: Any) -> bool:
        stmt = update(jobs).where(*_held(job_id, attempt)).values(**values).returning(_c.id)
        return await self.session.scalar(stmt) is not None

    async def count_active(self, team_id: int, kinds: Sequence[JobKind]) -> int:
        if not kinds:
            return 0
        where: list[Condition] = [ACTIVE_JOB, _c.team_id == team_id, _c.kind.in_(list(kinds))]
        return await self._count(jobs, where)

    async def count_claimable(self, now: datetime) -> int:
        return await self._count(jobs, claimable(now))

    async def active_payloads(self) -> list[dict[str, Any]]:
        payloads = await self.session.scalars(select(_c.payload).where(ACTIVE_JOB))
        return [dict(payload or {}) for payload in payloads]
