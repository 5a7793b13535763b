"""The short-lived admin commands: each acts through the services and says what it made."""

from __future__ import annotations

import argparse

from rankion_core import Actor, NotFound, Rankion
from rankion_core.models import Team

from ..workers import maintenance
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


async def create_token(app: Rankion, args: argparse.Namespace) -> Output:
    team = await find_team(app, args.team)
    issued = await app.accounts.create_token(team.id, args.user)
    data = {"token": issued.secret, "team_id": team.id, "user_id": issued.token.user_id}
    note = f"token for user {args.user!r} of team {team.name!r} (shown once, keep it safe):"
    return Output(issued.secret, data, note=note)


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
