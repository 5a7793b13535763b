"""Teams and their balance (atomic, never negative) and the credit ledger."""

from __future__ import annotations

import asyncio

from rankion_core.models import LedgerEntry, Team
from rankion_core.ports import Storage
from rankion_core.testing.builders import T0, at, make_team, two_teams
from rankion_core.testing.builders import job as make_job
from rankion_core.testing.storage.fixture import StorageFixtures


class CreditsContract(StorageFixtures):
    """Teams, credits and the ledger."""

    async def test_add_get_and_get_by_name(self, storage: Storage) -> None:
        acme = await make_team(storage, "acme", credits=42)
        async with storage.unit_of_work() as uow:
            by_id = await uow.teams.get(acme.id)
            by_name = await uow.teams.get_by_name("acme")
            assert await uow.teams.get(acme.id + 100) is None
            assert await uow.teams.get_by_name("nobody") is None
        assert by_id is not None
        assert by_name is not None
        assert (by_id.id, by_id.name, by_id.credits, by_id.created_at) == (acme.id, "acme", 42, T0)
        assert by_name.id == acme.id

    async def test_charge_takes_only_what_the_balance_covers(self, storage: Storage) -> None:
        team = await make_team(storage, credits=12)
        async with storage.unit_of_work() as uow:
            assert await uow.teams.charge(team.id, 5) == 7
            assert await uow.teams.charge(team.id, 8) is None
            assert await uow.teams.charge(team.id, 7) == 0
            assert await uow.teams.charge(team.id, 1) is None
            assert await uow.teams.balance(team.id) == 0
            assert await uow.teams.credit(team.id, 10) == 10
            await uow.commit()
        async with storage.unit_of_work() as uow:
            assert await uow.teams.balance(team.id) == 10
            assert await uow.teams.charge(team.id + 100, 1) is None
            assert await uow.teams.balance(team.id + 100) == 0

    async def test_balances_are_per_team(self, storage: Storage) -> None:
        first, second = await two_teams(storage)
        async with storage.unit_of_work() as uow:
            await uow.teams.charge(first, 30)
            await uow.teams.credit(second, 5)
            await uow.commit()
        async with storage.unit_of_work() as uow:
            assert (await uow.teams.balance(first), await uow.teams.balance(second)) == (70, 105)

    async def test_a_charge_rolled_back_is_not_taken(self, storage: Storage) -> None:
        team = await make_team(storage, credits=10)
        async with storage.unit_of_work() as uow:
            assert await uow.teams.charge(team.id, 10) == 0
        async with storage.unit_of_work() as uow:
            assert await uow.teams.balance(team.id) == 10

    async def test_fifty_concurrent_charges_never_overdraw(self, storage: Storage) -> None:
        team = await make_team(storage, credits=50)  # exactly ten charges of 5

        async def charge() -> int | None:
            async with storage.unit_of_work() as uow:
                left = await uow.teams.charge(team.id, 5)
                await asyncio.sleep(0)  # let the others run while this one is open
                await uow.commit()
            return left

        results = await asyncio.gather(*(charge() for _ in range(50)))
        taken = sorted(r for r in results if r is not None)
        assert taken == list(range(0, 50, 5))
        assert results.count(None) == 40
        async with storage.unit_of_work() as uow:
            assert await uow.teams.balance(team.id) == 0

    async def test_concurrent_credits_all_count(self, storage: Storage) -> None:
        team = await make_team(storage, credits=0)

        async def credit() -> None:
            async with storage.unit_of_work() as uow:
                await uow.teams.credit(team.id, 2)
                await uow.commit()

        await asyncio.gather(*(credit() for _ in range(20)))
        async with storage.unit_of_work() as uow:
            assert await uow.teams.balance(team.id) == 40

    async def test_ledger_lists_newest_first_ties_by_id(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        async with storage.unit_of_work() as uow:
            a = await uow.ledger.add(LedgerEntry(0, team, -5, "generate", at(1), image_id=4))
            b = await uow.ledger.add(LedgerEntry(0, team, -10, "edit", at(2)))
            c = await uow.ledger.add(LedgerEntry(0, team, 5, "refund", at(1), image_id=4))
            await uow.ledger.add(LedgerEntry(0, other, 100, "grant", at(3)))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            items, total = await uow.ledger.list(team, 1, 10)
            first, _ = await uow.ledger.list(team, 1, 2)
            second, _ = await uow.ledger.list(team, 2, 2)
            past, past_total = await uow.ledger.list(team, 3, 2)
            assert await uow.ledger.total(team) == -10
            assert await uow.ledger.total(other) == 100
            assert await uow.ledger.total(other + 100) == 0
        assert ([e.id for e in items], total) == ([b.id, c.id, a.id], 3)
        assert [e.id for e in first + second] == [b.id, c.id, a.id]
        assert (past, past_total) == ([], 3)
        assert (items[2].delta, items[2].reason, items[2].image_id, items[2].job_id) == (
            -5,
            "generate",
            4,
            None,
        )

    async def test_has_entry_finds_a_jobs_entry_by_reason(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        async with storage.unit_of_work() as uow:
            job = await uow.jobs.add(make_job(team))
            await uow.ledger.add(LedgerEntry(0, team, 5, "refund", at(1), job_id=job.id))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            assert await uow.ledger.has_entry(job.id, "refund") is True
            assert await uow.ledger.has_entry(job.id, "generate") is False
            assert await uow.ledger.has_entry(job.id + 1, "refund") is False

    async def test_the_job_of_an_image_is_its_newest_charges(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        async with storage.unit_of_work() as uow:
            first = await uow.jobs.add(make_job(team))
            second = await uow.jobs.add(make_job(team))
            third = await uow.jobs.add(make_job(team))
            theirs = await uow.jobs.add(make_job(other))
            charge = LedgerEntry(0, team, -5, "generate", at(1), image_id=4, job_id=first.id)
            await uow.ledger.add(charge)
            await uow.ledger.add(LedgerEntry(0, team, -5, "edit", at(2), 4, second.id))
            await uow.ledger.add(LedgerEntry(0, team, 5, "grant", at(3), image_id=4))
            await uow.ledger.add(LedgerEntry(0, team, -5, "generate", at(4), 5, third.id))
            await uow.ledger.add(LedgerEntry(0, other, -5, "generate", at(5), 6, theirs.id))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            assert await uow.ledger.job_of_image(team, 4) == second.id  # newest with a job
            assert await uow.ledger.job_of_image(team, 5) == third.id
            assert await uow.ledger.job_of_image(team, 6) is None  # another team's
            assert await uow.ledger.job_of_image(other, 4) is None
            assert await uow.ledger.job_of_image(other, 6) == theirs.id
            assert await uow.ledger.job_of_image(team, 7) is None

    async def test_team_add_keeps_created_at_and_credits(self, storage: Storage) -> None:
        async with storage.unit_of_work() as uow:
            team = await uow.teams.add(Team(0, "solo", 0, at(9)))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            loaded = await uow.teams.get(team.id)
        assert loaded is not None
        assert (loaded.credits, loaded.created_at) == (0, at(9))
