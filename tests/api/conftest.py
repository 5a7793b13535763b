"""The HTTP test harness: the real app factory over the real wiring.

``api`` builds the app through ``create_app`` with memory storage, a private
``memory://`` blob store and the procedural provider; ``flow_api`` is the same,
parametrised to run once more over SQLite (skipped while ``rankion_sqlalchemy`` is not
importable). Two teams, ``a`` and ``b``, come with tokens and credits. Jobs run
synchronously with ``await api.run_jobs()``: nothing sleeps.
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from attrs import define
from PIL import Image as PILImage

from rankion_core import Rankion
from rankion_server.app import create_app
from rankion_server.config import ServerConfig
from rankion_server.keys import RANKION

NO_BODY: Any = object()
Client = TestClient[Any, Any]
ClientFactory = Callable[..., Awaitable[Client]]


class ShiftClock:
    """Real time plus an offset that tests move forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@define
class Team:
    id: int
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@define
class Answer:
    status: int
    headers: Any
    body: bytes

    @property
    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def data(self) -> Any:
        return self.json["data"]

    @property
    def error(self) -> dict[str, Any]:
        return self.json["error"]  # type: ignore[no-any-return]


def relative(url: str) -> str:
    """The path and query of an absolute URL (the test server's host differs)."""
    rest = url.split("://", 1)[1]
    return rest[rest.index("/") :]


@define
class Api:
    client: Client
    rankion: Rankion
    clock: ShiftClock
    a: Team
    b: Team

    async def call(
        self,
        method: str,
        path: str,
        body: Any = NO_BODY,
        *,
        team: Team | None = None,
        anonymous: bool = False,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        if not anonymous:
            sent.update((team or self.a).auth)
        data: Any = raw if raw is not None else (None if body is NO_BODY else orjson.dumps(body))
        if isinstance(data, bytes) and len(data) > 1 << 19:
            data = io.BytesIO(data)  # aiohttp warns about large raw bytes
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        async with self.client.request(method, path, data=data, headers=sent) as resp:
            return Answer(resp.status, resp.headers, await resp.read())

    async def get(self, path: str, **kw: Any) -> Answer:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: Any = NO_BODY, **kw: Any) -> Answer:
        return await self.call("POST", path, body, **kw)

    async def run_jobs(self) -> int:
        return await self.rankion.run_pending()

    async def generate(self, team: Team | None = None, *, run: bool = True, **body: Any) -> int:
        """A generated image's id (ready when ``run``)."""
        body.setdefault("prompt", "a lighthouse at dusk")
        body.setdefault("size", "256x256")
        answer = await self.post("/v1/generate/image", body, team=team)
        assert answer.status == 202, answer.body
        if run:
            await self.run_jobs()
        return int(answer.data["image_id"])

    async def edit(self, image_id: int, team: Team | None = None, **body: Any) -> Answer:
        body.setdefault("prompt", "same scene, golden hour lighting")
        return await self.post(f"/v1/images/{image_id}/edit", body, team=team)

    async def image(self, image_id: int, team: Team | None = None) -> dict[str, Any]:
        answer = await self.get(f"/v1/images/{image_id}", team=team)
        assert answer.status == 200, answer.body
        return answer.data  # type: ignore[no-any-return]

    async def project(self, team: Team | None = None, name: str = "Blog") -> int:
        answer = await self.post("/v1/projects", {"name": name}, team=team)
        assert answer.status == 201, answer.body
        return int(answer.data["id"])

    async def fetch(self, url: str) -> Answer:
        """GET an absolute URL the API handed out, without any token."""
        return await self.get(relative(url), anonymous=True)


async def make_team(app: Rankion, name: str, credits: int) -> Team:
    team = await app.accounts.create_team(name, credits)
    issued = await app.accounts.create_token(team.id)
    return Team(team.id, issued.secret)


def config(database_url: str = "memory://") -> ServerConfig:
    return ServerConfig(
        database_url=database_url,
        blobs_url=f"memory://api-{uuid.uuid4().hex}",
        secret=b"x" * 32,
        provider="procedural",
        workers=0,
        migrate=True,
    )


async def start(aiohttp_client: ClientFactory, cfg: ServerConfig, **options: Any) -> Api:
    """``options`` go to ``create_app`` (``web_app=False``, …)."""
    clock = ShiftClock()
    app = create_app(cfg, clock=clock, **options)
    client = await aiohttp_client(app)
    rankion = app[RANKION]
    a = await make_team(rankion, "acme", 1000)
    b = await make_team(rankion, "globex", 1000)
    return Api(client, rankion, clock, a, b)


@pytest.fixture
async def api(aiohttp_client: ClientFactory) -> Api:
    return await start(aiohttp_client, config())


def _sqlite_missing() -> str | None:
    try:
        import rankion_sqlalchemy

        rankion_sqlalchemy.open_storage  # noqa: B018
    except (ImportError, AttributeError) as exc:
        return f"rankion_sqlalchemy is not importable yet ({exc})"
    return None


@pytest.fixture(params=["memory", "sqlite"])
async def flow_api(
    request: pytest.FixtureRequest, aiohttp_client: ClientFactory, tmp_path: Path
) -> AsyncIterator[Api]:
    """``api`` over memory storage, then over SQLite."""
    if request.param == "memory":
        yield await start(aiohttp_client, config())
        return
    missing = _sqlite_missing()
    if missing:
        pytest.skip(missing)
    yield await start(aiohttp_client, config(f"sqlite+aiosqlite:///{tmp_path}/t.db"))


def png_mask(width: int = 256, height: int = 256) -> str:
    """A base64 PNG mask, transparent in its left half."""
    mask = PILImage.new("RGBA", (width, height), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (0, 0, width // 2, height))
    out = io.BytesIO()
    mask.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()
