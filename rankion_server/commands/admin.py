"""The short-lived admin commands: each acts through the services and says what it made."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from rankion_core import Actor, NotFound, Rankion
from rankion_core.models import ApiToken, Team
from rankion_core.rules.limits import PER_PAGE_MAX
from rankion_core.rules.timeutil import iso_z
from rankion_core.services import TokenView
from rankion_core.workers import maintenance

from ..render import counted
from .base import CommandError, Output


async def find_team(app: Rankion, name_or_id: str) -> Team:
    try:
        return await app.accounts.find_team(name_or_id)
    except NotFound:
        raise CommandError(f"no team has the name or id {name_or_id!r}") from None


async def create_team(app: Rankion, args: argparse.Namespace) -> Output:
    team = await app.accounts.create_team(args.name, args.credits)
    data = {"id": team.id, "name": team.name, "credits": team.credits}
    note = f"created team {team.name!r} with {team.credits} credits; its id:"
    return Output(str(team.id), data, note=note)


async def create_project(app: Rankion, args: argparse.Namespace) -> Output:
    team = await find_team(app, args.team)
    project = await app.accounts.create_project(Actor(team_id=team.id), args.name)
    data = {"id": project.id, "team_id": team.id, "name": project.name}
    note = f"created project {project.name!r} in team {team.name!r}; its id:"
    return Output(str(project.id), data, note=note)


async def list_teams(app: Rankion, args: argparse.Namespace) -> Output:
    teams: list[Team] = []
    while batch := await app.accounts.teams(teams[-1].id if teams else 0, PER_PAGE_MAX):
        teams += batch
    rows = [{"id": t.id, "name": t.name, "credits": t.credits} for t in teams]
    table = ["\t".join(str(r[k]) for k in ("id", "name", "credits")) for r in rows]
    note = f"{counted(len(rows), 'team')}: id, name, credits"
    return Output("\n".join(table), {"teams": rows}, note=note)


async def list_projects(app: Rankion, args: argparse.Namespace) -> Output:
    team = await find_team(app, args.team)
    actor, projects, number = Actor(team_id=team.id), [], 1
    while True:
        found = await app.accounts.projects(actor, number, PER_PAGE_MAX)
        projects += found.items
        if number * PER_PAGE_MAX >= found.total:
            break
        number += 1
    rows = [{"id": p.id, "name": p.name, "time_zone": p.time_zone} for p in projects]
    table = ["\t".join(str(r[k]) for k in ("id", "name", "time_zone")) for r in rows]
    note = f"{counted(len(rows), 'project')} of team {team.name!r}: id, name, time_zone"
    return Output("\n".join(table), {"team_id": team.id, "projects": rows}, note=note)


def _token_data(token: ApiToken, user: str) -> dict[str, Any]:
    """A token as the CLI shows it (never the secret)."""
    return {
        "id": token.id,
        "team_id": token.team_id,
        "prefix": token.prefix,
        "user": user,
        "created_at": iso(token.created_at),
        "last_used_at": iso(token.last_used_at),
        "expires_at": iso(token.expires_at),
    }


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso_z(moment)


async def create_token(app: Rankion, args: argparse.Namespace) -> Output:
    team = await find_team(app, args.team)
    issued = await app.accounts.create_token(team.id, args.user, expires_in=args.expires_in)
    data = {
        **_token_data(issued.token, args.user),
        "user_id": issued.token.user_id,
        "token": issued.secret,
    }
    until = iso(issued.token.expires_at) or "revoked"
    note = (
        f"token {issued.token.id} for user {args.user!r} of team {team.name!r}, valid until "
        f"{until} (shown once, keep it safe):"
    )
    return Output(issued.secret, data, note=note)


async def list_tokens(app: Rankion, args: argparse.Namespace) -> Output:
    team = await find_team(app, args.team)
    views: list[TokenView] = []
    number = 1
    while True:
        found = await app.accounts.tokens(Actor(team_id=team.id), number, PER_PAGE_MAX)
        views += found.items
        if number * PER_PAGE_MAX >= found.total:
            break
        number += 1
    rows = [_token_data(v.token, v.user) for v in views]
    table = [
        "\t".join(str(r[k] or "-") for k in ("id", "prefix", "user", "expires_at", "last_used_at"))
        for r in rows
    ]
    note = (
        f"{counted(len(rows), 'token')} of team {team.name!r}: id, prefix, user, expires_at,"
        " last_used_at"
    )
    return Output("\n".join(table), {"team_id": team.id, "tokens": rows}, note=note)


async def revoke_token(app: Rankion, args: argparse.Namespace) -> Output:
    try:
        token = await app.accounts.revoke_token(None, args.id)
    except NotFound:
        raise CommandError(f"no token has the id {args.id}") from None
    note = "revoked; every server refuses it within 5 s. Its id:"
    return Output(str(token.id), {"id": token.id, "team_id": token.team_id}, note=note)


async def grant_credits(app: Rankion, args: argparse.Namespace) -> Output:
    team = await find_team(app, args.team)
    balance = await app.accounts.grant(team.id, args.amount)
    note = f"granted {args.amount} credits to team {team.name!r}; new balance:"
    return Output(str(balance), {"team_id": team.id, "balance": balance}, note=note)


async def purge(app: Rankion, args: argparse.Namespace) -> Output:
    """Purge the trash that is due, expire old export ZIPs and idempotency records."""
    counts = await maintenance(app)
    note = (
        f"purged {counts['purged']} images from the trash and expired "
        f"{counts['expired_exports']} exports; images purged:"
    )
    return Output(str(counts["purged"]), counts, note=note)


async def migrate(app: Rankion, args: argparse.Namespace) -> Output:
    """Nothing left to do: opening the storage has migrated it, as for every command."""
    return Output("ok", {"status": "ok"})
