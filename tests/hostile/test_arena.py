"""The arena itself: two teams on one real server see only their own work."""

from __future__ import annotations

from tests.e2e.support import Api, expect


async def test_each_team_sees_only_its_own_project(victim: Api, attacker: Api) -> None:
    mine = expect(await victim.get("/v1/projects"), 200).json()["data"]
    theirs = expect(await attacker.get("/v1/projects"), 200).json()["data"]
    assert {p["id"] for p in mine}.isdisjoint({p["id"] for p in theirs})
    other = theirs[0]["id"]
    assert (await victim.get(f"/v1/projects/{other}")).status == 404
