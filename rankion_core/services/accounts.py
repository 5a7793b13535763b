"""Teams, users, projects, tokens and credits: the admin side and the auth lookup."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from datetime import datetime, timedelta

from attrs import define

from ..errors import Conflict, Invalid, NotFound, Unavailable
from ..models import Actor, ApiToken, LedgerEntry, Page, Project, Team, User
from ..reads import reads_of
from ..rules import credits, text, tokens
from ..rules.calendar import DEFAULT_ZONE, check_zone
from ..rules.limits import CREDITS_MAX, ID_MAX, PROJECT_NAME_MAX
from .caps import check_room
from .deps import Deps

TOKEN_PREFIX = "rk_"


@define(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown once, never stored


@define(frozen=True)
class TokenView:
    """A token as its team may see it: never the secret nor its digest."""

    token: ApiToken
    user: str


def digest(secret: str) -> str:
    """Tokens carry 256 random bits, so a plain SHA-256 is a safe digest."""
    return hashlib.sha256(secret.encode()).hexdigest()


def split_token(secret: str) -> str | None:
    """The non-secret lookup prefix of a token, or None if it is not one of ours."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    prefix, _, rest = secret[len(TOKEN_PREFIX) :].partition("_")
    hexadecimal = prefix.isascii() and all(c in string.hexdigits for c in prefix)
    return prefix if len(prefix) == 16 and hexadecimal and rest else None


def _as_id(text_: str) -> int | None:
    """``text_`` as a team id when it spells one (ASCII digits, 1 … ``ID_MAX``)."""
    if not (text_.isascii() and text_.isdigit()) or len(text_) > len(str(ID_MAX)):
        return None
    number = int(text_)
    return number if 0 < number <= ID_MAX else None


class Accounts:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def create_team(self, name: str, credits_: int = 0) -> Team:
        name = text.required("name", name, PROJECT_NAME_MAX)
        if not 0 <= credits_ <= CREDITS_MAX:
            raise Invalid(
                f"credits must be from 0 to {CREDITS_MAX}",
                details={"credits": f"from 0 to {CREDITS_MAX}"},
            )
        now = self.deps.clock.now()
        async with self.deps.storage.unit_of_work() as uow:
            if await uow.teams.get_by_name(name) is not None:
                raise Conflict(f"a team named {name!r} exists", code="team_exists")
            team = await uow.teams.add(Team(id=0, name=name, credits=credits_, created_at=now))
            if credits_:
                await uow.ledger.add(
                    LedgerEntry(
                        id=0,
                        team_id=team.id,
                        delta=credits_,
                        reason=credits.GRANT_REASON,
                        created_at=now,
                    )
                )
            await uow.commit()
        return team

    async def teams(self, after_id: int = 0, limit: int = 100) -> list[Team]:
        """The operator's view: at most ``limit`` teams with an id above ``after_id``."""
        async with self.deps.storage.unit_of_work() as uow:
            return await uow.teams.list_after(after_id, limit)

    async def find_team(self, name_or_id: str) -> Team:
        async with self.deps.storage.unit_of_work() as uow:
            team = await uow.teams.get_by_name(name_or_id)
            team_id = _as_id(name_or_id)
            if team is None and team_id is not None:
                team = await uow.teams.get(team_id)
        if team is None:
            raise NotFound("team")
        return team

    async def create_project(
        self, actor: Actor, name: str, time_zone: str = DEFAULT_ZONE
    ) -> Project:
        name = text.required("name", name, PROJECT_NAME_MAX)
        project = Project(
            id=0,
            team_id=actor.team_id,
            name=name,
            created_at=self.deps.clock.now(),
            time_zone=check_zone(time_zone),
        )
        async with self.deps.storage.unit_of_work() as uow:
            limit, team_id = self.deps.max_projects, actor.team_id
            # projects are never deleted: the way to room is one of its own
            await check_room("projects", limit, uow.projects.count, team_id, "reuse one")
            project = await uow.projects.add(project)
            await uow.commit()
        return project

    async def update_project(
        self, actor: Actor, project_id: int, name: str | None = None, time_zone: str | None = None
    ) -> Project:
        """Rename a project or change its zone (its events keep their instants)."""
        name = text.required("name", name, PROJECT_NAME_MAX) if name is not None else None
        zone = check_zone(time_zone) if time_zone is not None else None
        async with self.deps.storage.unit_of_work() as uow:
            project = await uow.projects.get(actor.team_id, project_id)
            if project is None:
                raise NotFound("project")
            project.name = name if name is not None else project.name
            project.time_zone = zone if zone is not None else project.time_zone
            await uow.projects.update(project)
            await uow.commit()
        return project

    async def project(self, actor: Actor, project_id: int) -> Project:
        """One of the caller's projects; another team's is ``NotFound`` like a missing one."""
        async with self.deps.storage.unit_of_work() as uow:
            project = await uow.projects.get(actor.team_id, project_id)
        if project is None:
            raise NotFound("project")
        return project

    async def projects(self, actor: Actor, page: int, per_page: int) -> Page[Project]:
        async with self.deps.storage.unit_of_work() as uow:
            items, total = await uow.projects.list(actor.team_id, page, per_page)
        return Page(items, page, per_page, total)

    async def create_token(
        self, team_id: int, user_name: str = "admin", *, expires_in: timedelta | None = None
    ) -> IssuedToken:
        """A new token for the team's user (made if need be); it expires after
        ``expires_in`` (None: it lasts until revoked)."""
        now = self.deps.clock.now()
        expires_at = tokens.expiry(now, expires_in)
        prefix = secrets.token_hex(8)
        secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        async with self.deps.storage.unit_of_work() as uow:
            if await uow.teams.get(team_id) is None:
                raise NotFound("team")
            user = await uow.users.get_by_name(team_id, user_name)
            if user is None:
                user = await uow.users.add(
                    User(id=0, team_id=team_id, name=user_name, created_at=now)
                )
            token = ApiToken(
                id=0,
                team_id=team_id,
                user_id=user.id,
                prefix=prefix,
                digest=digest(secret),
                created_at=now,
                expires_at=expires_at,
            )
            await uow.tokens.add(token)
            await uow.commit()
        return IssuedToken(token, secret)

    async def authenticate(self, secret: str) -> Actor | None:
        """The caller behind a bearer token, or None (unknown, revoked or expired);
        compared in constant time. A use is noted in ``last_used_at`` only when the
        one stored is a minute old, so most lookups write nothing."""
        prefix = split_token(secret)
        if prefix is None:
            return None
        async with self.deps.storage.unit_of_work() as uow:
            candidates = await uow.tokens.find_by_prefix(prefix)
        wanted = digest(secret)
        now = self.deps.clock.now()
        for token in candidates:
            if hmac.compare_digest(token.digest, wanted) and tokens.admits(token, now):
                if tokens.needs_touch(token, now):
                    await self._touch(token, now)
                return Actor(
                    team_id=token.team_id,
                    user_id=token.user_id,
                    token_id=token.id,
                    expires_at=token.expires_at,
                )
        return None

    async def live_token(self, token_id: int) -> ApiToken | None:
        """The token with that id while it still admits its caller (not revoked, not
        expired), else None: what a browser session made from it checks on each use."""
        async with self.deps.storage.unit_of_work() as uow:
            token = await uow.tokens.get(token_id)
        if token is None or not tokens.admits(token, self.deps.clock.now()):
            return None
        return token

    async def _touch(self, token: ApiToken, now: datetime) -> None:
        """Note a use; a busy or unreachable database only loses the note."""
        try:
            async with self.deps.storage.unit_of_work() as uow:
                await uow.tokens.touch(token.id, now)
                await uow.commit()
        except Unavailable:
            return

    async def tokens(self, actor: Actor, page: int, per_page: int) -> Page[TokenView]:
        """The caller's team's tokens, oldest first, each with its user's name."""
        async with self.deps.storage.unit_of_work() as uow:
            items, total = await uow.tokens.list(actor.team_id, page, per_page)
            names: dict[int, str] = {}
            for user_id in {t.user_id for t in items}:
                user = await uow.users.get(actor.team_id, user_id)
                names[user_id] = user.name if user is not None else ""
        views = [TokenView(t, names[t.user_id]) for t in items]
        return Page(views, page, per_page, total)

    async def revoke_token(self, actor: Actor | None, token_id: int) -> ApiToken:
        """Delete one of the caller's team's tokens (``actor`` None: the admin, any
        team's); another team's token is ``NotFound`` like a missing one."""
        async with self.deps.storage.unit_of_work() as uow:
            token = await uow.tokens.get(token_id)
            if token is None or (actor is not None and token.team_id != actor.team_id):
                raise NotFound("token")
            await uow.tokens.delete(token.team_id, token.id)
            await uow.commit()
        return token

    async def grant(self, team_id: int, amount: int) -> int:
        if amount <= 0:
            raise Invalid("a grant must be positive", details={"amount": "must be > 0"})
        async with self.deps.storage.unit_of_work() as uow:
            team = await uow.teams.get(team_id) if 0 < team_id <= ID_MAX else None
            if team is None:
                raise NotFound("team")
            if amount > CREDITS_MAX - team.credits:
                raise Invalid(
                    f"a team holds at most {CREDITS_MAX} credits; it has {team.credits}",
                    details={"amount": f"at most {max(CREDITS_MAX - team.credits, 0)}"},
                )
            balance = await uow.teams.credit(team_id, amount)
            await uow.ledger.add(
                LedgerEntry(
                    id=0,
                    team_id=team_id,
                    delta=amount,
                    reason=credits.GRANT_REASON,
                    created_at=self.deps.clock.now(),
                )
            )
            await uow.commit()
        return balance

    async def balance(self, actor: Actor) -> int:
        async with self.deps.storage.unit_of_work() as uow:
            return await uow.teams.balance(actor.team_id)

    async def ledger(self, actor: Actor, page: int, per_page: int) -> Page[LedgerEntry]:
        items, total = await reads_of(self.deps.storage).ledger_page(actor.team_id, page, per_page)
        return Page(items, page, per_page, total)
