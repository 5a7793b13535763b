"""Teams (with the atomic credit balance), users, tokens and projects."""

from __future__ import annotations

import builtins
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update

from rankion_core.models import ApiToken, Project, Team, User

from ..rows import rows_of
from ..tables import api_tokens, projects, teams, users
from .base import Repository

__all__ = ["ProjectRepo", "TeamRepo", "TokenRepo", "UserRepo"]

_TEAM, _USER = rows_of(Team), rows_of(User)
_TOKEN, _PROJECT = rows_of(ApiToken), rows_of(Project)

#: built once and run with parameters (see ``base``)
_CHARGE = (
    update(teams)
    .where(teams.c.id == bindparam("team_id"), teams.c.credits >= bindparam("amount"))
    .values(credits=teams.c.credits - bindparam("amount"))
    .returning(teams.c.credits)
)


class TeamRepo(Repository):
    async def add(self, team: Team) -> Team:
        return await self._add(team)

    async def get(self, team_id: int) -> Team | None:
        return await self._first_where(_TEAM, id=team_id)

    async def get_by_name(self, name: str) -> Team | None:
        return await self._first(_TEAM, _TEAM.select().where(teams.c.name == name))

    async def list_after(self, after_id: int, limit: int) -> builtins.list[Team]:
        stmt = _TEAM.select().where(teams.c.id > after_id).order_by(teams.c.id).limit(limit)
        return await self._all(_TEAM, stmt)

    async def balance(self, team_id: int) -> int:
        credits = await self.session.scalar(select(teams.c.credits).where(teams.c.id == team_id))
        return int(credits or 0)

    async def charge(self, team_id: int, amount: int) -> int | None:
        """One conditional UPDATE: two charges can never both spend the same credits."""
        credits = await self.session.scalar(_CHARGE, {"team_id": team_id, "amount": amount})
        return None if credits is None else int(credits)

    async def credit(self, team_id: int, amount: int) -> int:
        stmt = (
            update(teams)
            .where(teams.c.id == team_id)
            .values(credits=teams.c.credits + amount)
            .returning(teams.c.credits)
        )
        return int(await self.session.scalar(stmt) or 0)


class UserRepo(Repository):
    async def add(self, user: User) -> User:
        return await self._add(user)

    async def get(self, team_id: int, user_id: int) -> User | None:
        return await self._first_where(_USER, team_id=team_id, id=user_id)

    async def get_by_name(self, team_id: int, name: str) -> User | None:
        stmt = _USER.select().where(users.c.team_id == team_id, users.c.name == name)
        return await self._first(_USER, stmt)


class TokenRepo(Repository):
    async def add(self, token: ApiToken) -> ApiToken:
        return await self._add(token)

    async def find_by_prefix(self, prefix: str) -> builtins.list[ApiToken]:
        stmt = _TOKEN.select().where(api_tokens.c.prefix == prefix).order_by(api_tokens.c.id)
        return await self._all(_TOKEN, stmt)

    async def get(self, token_id: int) -> ApiToken | None:
        return await self._first(_TOKEN, _TOKEN.select().where(api_tokens.c.id == token_id))

    async def list(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[ApiToken], int]:
        where = [api_tokens.c.team_id == team_id]
        stmt = _TOKEN.select().where(*where).order_by(api_tokens.c.id)
        return await self._page(_TOKEN, stmt, api_tokens, where, page, per_page)

    async def delete(self, team_id: int, token_id: int) -> bool:
        stmt = delete(api_tokens).where(
            api_tokens.c.team_id == team_id, api_tokens.c.id == token_id
        )
        return await self._rowcount(stmt) > 0

    async def touch(self, token_id: int, at: datetime) -> None:
        stmt = update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=at)
        await self.session.execute(stmt)


class ProjectRepo(Repository):
    async def add(self, project: Project) -> Project:
        return await self._add(project)

    async def get(self, team_id: int, project_id: int) -> Project | None:
        return await self._first_where(_PROJECT, team_id=team_id, id=project_id)

    async def update(self, project: Project) -> None:
        await self._update_row(projects, project, ("id", "team_id"))

    async def list(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[Project], int]:
        where = [projects.c.team_id == team_id]
        stmt = _PROJECT.select().where(*where).order_by(projects.c.id)
        return await self._page(_PROJECT, stmt, projects, where, page, per_page)

    async def count(self, team_id: int) -> int:
        return await self._team_count("projects", team_id)
