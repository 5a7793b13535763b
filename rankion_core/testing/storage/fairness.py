"""Fair claims on every backend: teams take turns, a retry never jumps its team's
queue, lanes are apart, and concurrent claimers still never share an attempt."""

from __future__ import annotations

import asyncio
from collections import Counter

from rankion_core.models import Job, JobKind
from rankion_core.ports import Storage
from rankion_core.testing.builders import add_jobs, at, job, make_team, two_teams
from rankion_core.testing.storage.fixture import StorageFixtures
from rankion_core.testing.storage.jobs import claim

IMAGE_KINDS = [JobKind.GENERATE, JobKind.EDIT]


async def drain(storage: Storage, count: int, kinds: list[JobKind] | None = None) -> list[Job]:
    """``count`` claims in a row (each job claimed stays running)."""
    taken = []
    for _ in range(count):
        got = await claim(storage, "w", 0, kinds)
        assert got is not None
        taken.append(got)
    return taken


class FairnessContract(StorageFixtures):
    """Fair claims across teams and lanes."""

    async def test_a_single_job_is_claimed_within_two_claims_of_a_backlog(
        self, storage: Storage
    ) -> None:
        hog, small = await two_teams(storage)
        await add_jobs(storage, *(job(hog) for _ in range(50)))
        (single,) = await add_jobs(storage, job(small))
        first_two = await drain(storage, 2)
        assert single.id in [j.id for j in first_two]

    async def test_teams_with_backlogs_take_turns(self, storage: Storage) -> None:
        a, b = await two_teams(storage)
        c = (await make_team(storage, "initech")).id
        await add_jobs(storage, *(job(a) for _ in range(10)))
        await add_jobs(storage, *(job(b) for _ in range(10)))
        await add_jobs(storage, *(job(c) for _ in range(10)))
        order = [j.team_id for j in await drain(storage, 30)]
        for start in range(0, 30, 3):  # every round serves each team once
            assert sorted(order[start : start + 3]) == sorted([a, b, c]), order

    async def test_a_team_queued_later_is_served_before_the_backlog_resumes(
        self, storage: Storage
    ) -> None:
        hog, late = await two_teams(storage)
        await add_jobs(storage, *(job(hog) for _ in range(20)))
        await drain(storage, 5)  # the hog is being served
        (single,) = await add_jobs(storage, job(late))
        nxt = await drain(storage, 2)
        assert single.id in [j.id for j in nxt]

    async def test_a_released_job_goes_behind_its_own_team_queue(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        first, *rest = await add_jobs(storage, *(job(team) for _ in range(3)))
        (theirs,) = await add_jobs(storage, job(other))
        got = await claim(storage, "w", 0)
        assert got is not None and got.id == first.id
        async with storage.unit_of_work() as uow:
            assert await uow.jobs.release(first.id, got.attempts, at(0), "try again")
            await uow.commit()
        order = [j.id for j in await drain(storage, 4)]
        assert order.index(first.id) > max(order.index(r.id) for r in rest), order
        assert order.index(theirs.id) < order.index(first.id), order

    async def test_a_released_job_waits_for_its_backoff(self, storage: Storage) -> None:
        team, _other = await two_teams(storage)
        (only,) = await add_jobs(storage, job(team))
        got = await claim(storage, "w", 0)
        assert got is not None
        async with storage.unit_of_work() as uow:
            assert await uow.jobs.release(only.id, got.attempts, at(5), "later")
            await uow.commit()
        assert await claim(storage, "w", 1) is None
        again = await claim(storage, "w", 6)
        assert again is not None and again.id == only.id

    async def test_an_expired_lease_is_still_taken_over_first(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        (stuck,) = await add_jobs(storage, job(team))
        got = await claim(storage, "dead", 0)
        assert got is not None
        await add_jobs(storage, *(job(other) for _ in range(3)))
        again = await claim(storage, "w", 40)  # the 30-minute lease expired at 30
        assert again is not None
        assert (again.id, again.attempts) == (stuck.id, 2)

    async def test_lanes_are_claimed_apart(self, storage: Storage) -> None:
        team, _other = await two_teams(storage)
        await add_jobs(storage, *(job(team, kind=JobKind.WEBHOOK) for _ in range(5)))
        (export,) = await add_jobs(storage, job(team, kind=JobKind.EXPORT))
        (image,) = await add_jobs(storage, job(team))
        got = await claim(storage, "w", 0, IMAGE_KINDS)
        assert got is not None and got.id == image.id
        assert await claim(storage, "w", 0, IMAGE_KINDS) is None
        got = await claim(storage, "w", 0, [JobKind.EXPORT])
        assert got is not None and got.id == export.id
        hooks = await drain(storage, 5, [JobKind.WEBHOOK])
        assert {j.kind for j in hooks} == {JobKind.WEBHOOK}

    async def test_concurrent_fair_claims_never_share_an_attempt(self, storage: Storage) -> None:
        teams = [await make_team(storage, f"team-{n}") for n in range(5)]
        await add_jobs(storage, *(job(t.id) for t in teams for _ in range(8)))

        async def worker(name: str) -> list[tuple[int, int]]:
            got = []
            while (claimed := await claim(storage, name, 0)) is not None:
                got.append((claimed.id, claimed.attempts))
            return got

        results = await asyncio.gather(*(worker(f"w{i}") for i in range(6)))
        taken = Counter(pair for result in results for pair in result)
        assert len(taken) == 40
        assert set(taken.values()) == {1}
