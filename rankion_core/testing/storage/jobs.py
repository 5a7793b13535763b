"""The job queue: claims under a lease, takeover after expiry, fencing by attempt."""

from __future__ import annotations

import asyncio
from collections import Counter

from rankion_core.models import Job, JobKind, JobStatus
from rankion_core.ports import Storage
from rankion_core.testing.builders import add_jobs, at, job, two_teams
from rankion_core.testing.storage.fixture import StorageFixtures

LEASE = 30  # minutes


async def claim(
    storage: Storage, worker: str, minute: float, kinds: list[JobKind] | None = None
) -> Job | None:
    async with storage.unit_of_work() as uow:
        claimed = await uow.jobs.claim(worker, at(minute), at(minute + LEASE), kinds)
        await uow.commit()
    return claimed


async def stored(storage: Storage, job_id: int) -> Job:
    async with storage.unit_of_work() as uow:
        found = await uow.jobs.get_any(job_id)
    assert found is not None
    return found


class JobsContract(StorageFixtures):
    """Jobs: claims, leases, fencing."""

    async def test_add_get_and_team_scope(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        (added,) = await add_jobs(
            storage, job(team, payload={"image_id": 3, "nested": {"a": [1, 2]}}, max_attempts=5)
        )
        assert added.id > 0
        async with storage.unit_of_work() as uow:
            mine = await uow.jobs.get(team, added.id)
            assert await uow.jobs.get(other, added.id) is None
            assert await uow.jobs.get(team, added.id + 100) is None
            any_team = await uow.jobs.get_any(added.id)
        assert mine is not None
        assert any_team is not None
        assert mine.payload == {"image_id": 3, "nested": {"a": [1, 2]}}
        assert (mine.kind, mine.status) == (JobKind.GENERATE, JobStatus.QUEUED)
        assert (mine.attempts, mine.max_attempts, mine.result) == (0, 5, None)
        assert mine.created_at == at(0)

    async def test_claim_takes_the_oldest_due_job_and_leases_it(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        later, first, second = await add_jobs(
            storage,
            job(team, run_after=at(10)),
            job(other),
            job(team, run_after=at(-5)),
        )
        got = await claim(storage, "w1", 0)
        assert got is not None
        assert got.id == first.id
        assert (got.status, got.attempts, got.lease_owner) == (JobStatus.RUNNING, 1, "w1")
        assert (got.lease_expires_at, got.started_at) == (at(LEASE), at(0))
        assert (await stored(storage, first.id)).status is JobStatus.RUNNING
        again = await claim(storage, "w2", 0)
        assert again is not None
        assert again.id == second.id
        assert await claim(storage, "w3", 0) is None  # `later` is not due yet
        due = await claim(storage, "w3", 10)
        assert due is not None
        assert due.id == later.id

    async def test_a_claim_steps_over_the_jobs_of_skipped_teams(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        mine, theirs, mine_too = await add_jobs(storage, job(team), job(other), job(team))

        async def take(skip: list[int]) -> Job | None:
            async with storage.unit_of_work() as uow:
                claimed = await uow.jobs.claim("w", at(0), at(LEASE), skip_teams=skip)
                await uow.commit()
            return claimed

        assert await take([team, other]) is None
        got = await take([team])
        assert got is not None and got.id == theirs.id
        assert await take([team]) is None
        got = await take([])
        assert got is not None and got.id == mine.id
        got = await take([other])
        assert got is not None and got.id == mine_too.id

    async def test_claim_filters_by_kind(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        gen, export = await add_jobs(storage, job(team), job(team, kind=JobKind.EXPORT))
        got = await claim(storage, "w", 0, [JobKind.EXPORT, JobKind.EDIT])
        assert got is not None
        assert got.id == export.id
        assert await claim(storage, "w", 0, [JobKind.EDIT]) is None
        assert await claim(storage, "w", 0, []) is None
        rest = await claim(storage, "w", 0, None)
        assert rest is not None
        assert rest.id == gen.id

    async def test_finished_jobs_are_never_claimed(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        await add_jobs(
            storage,
            job(team, status=JobStatus.SUCCEEDED, finished_at=at(0)),
            job(team, status=JobStatus.FAILED, finished_at=at(0)),
        )
        assert await claim(storage, "w", 100) is None
        async with storage.unit_of_work() as uow:
            assert await uow.jobs.count_claimable(at(100)) == 0

    async def test_an_expired_lease_lets_another_worker_take_over(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        (added,) = await add_jobs(storage, job(team))
        first = await claim(storage, "w1", 0)
        assert first is not None
        assert await claim(storage, "w2", LEASE) is None  # the lease ends *after* now
        second = await claim(storage, "w2", LEASE + 1)
        assert second is not None
        assert (second.id, second.attempts, second.lease_owner) == (added.id, 2, "w2")
        assert second.started_at == at(0)  # the first start is kept
        assert second.lease_expires_at == at(2 * LEASE + 1)

    async def test_fencing_refuses_a_late_attempt(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        await add_jobs(storage, job(team))
        stale = await claim(storage, "w1", 0)
        fresh = await claim(storage, "w2", LEASE + 1)
        assert stale is not None
        assert fresh is not None
        before = await stored(storage, fresh.id)
        stale.status, stale.error, stale.finished_at = JobStatus.FAILED, "late", at(99)
        async with storage.unit_of_work() as uow:
            assert await uow.jobs.heartbeat(stale.id, 1, at(500)) is False
            assert await uow.jobs.finish(stale, 1) is False
            assert await uow.jobs.release(stale.id, 1, at(200), "late") is False
            await uow.commit()
        after = await stored(storage, fresh.id)
        assert (after.status, after.attempts, after.lease_owner) == (JobStatus.RUNNING, 2, "w2")
        assert (after.lease_expires_at, after.error) == (before.lease_expires_at, None)
        assert after.finished_at is None

    async def test_heartbeat_extends_the_lease_of_the_holder(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        await add_jobs(storage, job(team))
        held = await claim(storage, "w1", 0)
        assert held is not None
        async with storage.unit_of_work() as uow:
            assert await uow.jobs.heartbeat(held.id, 1, at(100)) is True
            await uow.commit()
        assert (await stored(storage, held.id)).lease_expires_at == at(100)
        assert await claim(storage, "w2", LEASE + 1) is None  # still leased

    async def test_set_payload_is_fenced_and_seen_by_active_payloads(
        self, storage: Storage
    ) -> None:
        team, _ = await two_teams(storage)
        await add_jobs(storage, job(team, payload={"image_id": 1}))
        held = await claim(storage, "w1", 0)
        assert held is not None
        listed = {"image_id": 1, "previews": [{"index": 0, "key": "previews-1/x.png"}]}
        async with storage.unit_of_work() as uow:
            assert await uow.jobs.set_payload(held.id, 2, {"stale": True}) is False
            assert await uow.jobs.set_payload(held.id, 1, listed) is True
            await uow.commit()
        assert (await stored(storage, held.id)).payload == listed
        async with storage.unit_of_work() as uow:
            assert listed in await uow.jobs.active_payloads()
        taken = await claim(storage, "w2", LEASE + 1)  # the lease ran out: attempt 2
        assert taken is not None and taken.payload == listed
        async with storage.unit_of_work() as uow:
            assert await uow.jobs.set_payload(held.id, 1, {"late": True}) is False
            await uow.commit()
        assert (await stored(storage, held.id)).payload == listed

    async def test_finish_stores_the_end_and_clears_the_lease(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        await add_jobs(storage, job(team))
        held = await claim(storage, "w1", 0)
        assert held is not None
        held.status, held.result, held.finished_at = JobStatus.SUCCEEDED, {"blob_key": "k"}, at(3)
        async with storage.unit_of_work() as uow:
            assert await uow.jobs.finish(held, 1) is True
            await uow.commit()
        done = await stored(storage, held.id)
        assert (done.status, done.result, done.finished_at) == (
            JobStatus.SUCCEEDED,
            {"blob_key": "k"},
            at(3),
        )
        assert (done.lease_owner, done.lease_expires_at, done.attempts) == (None, None, 1)
        async with storage.unit_of_work() as uow:
            assert await uow.jobs.finish(held, 1) is False  # already ended
            assert await uow.jobs.heartbeat(held.id, 1, at(9)) is False
        assert await claim(storage, "w2", 1000) is None

    async def test_release_requeues_for_a_later_attempt(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        await add_jobs(storage, job(team))
        held = await claim(storage, "w1", 0)
        assert held is not None
        async with storage.unit_of_work() as uow:
            assert await uow.jobs.release(held.id, 1, at(20), "provider down") is True
            await uow.commit()
        queued = await stored(storage, held.id)
        assert (queued.status, queued.run_after, queued.error) == (
            JobStatus.QUEUED,
            at(20),
            "provider down",
        )
        assert (queued.lease_owner, queued.lease_expires_at, queued.attempts) == (None, None, 1)
        assert await claim(storage, "w2", 19) is None
        retried = await claim(storage, "w2", 20)
        assert retried is not None
        assert retried.attempts == 2

    async def test_count_active_and_claimable(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        await add_jobs(
            storage,
            job(team),
            job(team, kind=JobKind.EDIT, run_after=at(50)),
            job(team, kind=JobKind.EXPORT),
            job(team, status=JobStatus.SUCCEEDED),
            job(other),
        )
        running = await claim(storage, "w", 0, [JobKind.GENERATE])
        assert running is not None
        async with storage.unit_of_work() as uow:
            gen_edit = [JobKind.GENERATE, JobKind.EDIT]
            assert await uow.jobs.count_active(team, gen_edit) == 2
            assert await uow.jobs.count_active(team, [JobKind.EXPORT]) == 1
            assert await uow.jobs.count_active(team, []) == 0
            assert await uow.jobs.count_active(other, gen_edit) == 1
            assert await uow.jobs.count_claimable(at(0)) == 2  # export + other's generate
            assert await uow.jobs.count_claimable(at(LEASE + 1)) == 3  # + the expired lease
            assert await uow.jobs.count_claimable(at(50)) == 4  # + the edit, now due

    async def test_concurrent_claimers_never_share_an_attempt(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        added = await add_jobs(storage, *(job(team) for _ in range(12)))

        async def worker(name: str) -> list[int]:
            got: list[int] = []
            while (claimed := await claim(storage, name, 0)) is not None:
                got.append(claimed.id)
            return got

        results = await asyncio.gather(*(worker(f"w{i}") for i in range(6)))
        claimed = Counter(job_id for ids in results for job_id in ids)
        assert claimed == Counter(j.id for j in added)  # each exactly once

    async def test_two_claimers_race_for_one_job(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        (only,) = await add_jobs(storage, job(team))
        first, second = await asyncio.gather(claim(storage, "a", 0), claim(storage, "b", 0))
        winners = [j for j in (first, second) if j is not None]
        assert len(winners) == 1
        assert (winners[0].id, winners[0].attempts) == (only.id, 1)
