"""``GET /v1/tokens`` and ``DELETE /v1/tokens/{id}``; expiry and last use."""

from __future__ import annotations

from datetime import timedelta

from .conftest import Api, Team


async def _issue(api: Api, team: Team, *, user: str = "admin", **options: object) -> Team:
    issued = await api.rankion.accounts.create_token(team.id, user, **options)  # type: ignore[arg-type]
    return Team(team.id, issued.secret)


async def test_the_list_shows_the_teams_tokens_never_a_secret(flow_api: Api) -> None:
    api = flow_api
    await _issue(api, api.a, user="ann", expires_in=timedelta(days=7))
    await _issue(api, api.b, user="eve")
    answer = await api.get("/v1/tokens")
    assert answer.status == 200
    rows = answer.data
    assert [r["user"] for r in rows] == ["admin", "ann"]
    assert set(rows[0]) == {"id", "prefix", "user", "created_at", "last_used_at", "expires_at"}
    assert rows[0]["expires_at"] is None
    assert rows[1]["expires_at"].endswith("Z")
    assert rows[0]["last_used_at"] is not None  # the call itself used it
    assert api.a.token.startswith(f"rk_{rows[0]['prefix']}_")
    assert api.a.token.encode() not in answer.body
    assert answer.json["meta"]["total"] == 2


async def test_the_list_pages_and_rejects_bad_paging(flow_api: Api) -> None:
    api = flow_api
    for _ in range(2):
        await _issue(api, api.a)
    answer = await api.get("/v1/tokens?per_page=2&page=2")
    assert (len(answer.data), answer.json["meta"]["total"]) == (1, 3)
    assert (await api.get("/v1/tokens?per_page=0")).status == 422


async def test_a_revoked_token_is_401_like_an_unknown_one(flow_api: Api) -> None:
    api = flow_api
    spare = await _issue(api, api.a)
    assert (await api.get("/v1/credits", team=spare)).status == 200  # now cached
    spare_id = (await api.get("/v1/tokens")).data[-1]["id"]
    assert (await api.call("DELETE", f"/v1/tokens/{spare_id}")).status == 204
    refused = await api.get("/v1/credits", team=spare)
    unknown = await api.get("/v1/credits", team=Team(api.a.id, "rk_0123456789abcdef_nope"))
    assert refused.status == unknown.status == 401
    assert refused.json == unknown.json
    assert refused.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"]
    assert spare_id not in [r["id"] for r in (await api.get("/v1/tokens")).data]
    again = await api.call("DELETE", f"/v1/tokens/{spare_id}")
    assert again.status == 404


async def test_another_teams_token_is_the_same_404_and_keeps_working(flow_api: Api) -> None:
    api = flow_api
    theirs = (await api.get("/v1/tokens", team=api.b)).data[0]["id"]
    other = await api.call("DELETE", f"/v1/tokens/{theirs}")
    missing = await api.call("DELETE", "/v1/tokens/999999")
    assert other.status == missing.status == 404
    assert other.body == missing.body
    assert (await api.get("/v1/credits", team=api.b)).status == 200
    assert (await api.call("DELETE", "/v1/tokens/abc")).status == 404


async def test_revoking_the_token_in_use_answers_204_then_401(flow_api: Api) -> None:
    api = flow_api
    mine = (await api.get("/v1/tokens")).data[0]["id"]
    assert (await api.call("DELETE", f"/v1/tokens/{mine}")).status == 204
    assert (await api.get("/v1/credits")).status == 401


async def test_an_expired_token_is_401_even_while_cached(flow_api: Api) -> None:
    api = flow_api
    brief = await _issue(api, api.a, expires_in=timedelta(hours=1))
    assert (await api.get("/v1/credits", team=brief)).status == 200  # now cached
    api.clock.advance(timedelta(hours=1))
    refused = await api.get("/v1/credits", team=brief)
    assert refused.status == 401
    assert refused.error["code"] == "unauthorized"
    assert (await api.get("/v1/credits")).status == 200  # a token without expiry lasts
    listed = (await api.get("/v1/tokens")).data
    assert len(listed) == 2  # an expired token is still listed until revoked


async def test_last_used_is_written_at_most_once_a_minute(flow_api: Api) -> None:
    api = flow_api
    spare = await _issue(api, api.a)

    async def last_used() -> str | None:
        rows = (await api.get("/v1/tokens")).data
        return rows[-1]["last_used_at"]  # type: ignore[no-any-return]

    assert await last_used() is None
    await api.get("/v1/credits", team=spare)
    first = await last_used()
    assert first is not None
    api.clock.advance(timedelta(seconds=30))
    await api.rankion.accounts.authenticate(spare.token)  # a lookup, as on a cache miss
    assert await last_used() == first
    api.clock.advance(timedelta(seconds=31))
    await api.rankion.accounts.authenticate(spare.token)
    assert await last_used() != first
