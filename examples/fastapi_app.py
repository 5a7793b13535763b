"""A FastAPI app with Rankion as a library: SQLite, a blob folder, the offline provider.

The core's services are called from async routes; a worker pool runs the jobs inside
the app's lifespan; image bytes and signed ``/files/…`` links are streamed through
``rankion.files``. Your own authentication decides the team: here an ``X-Team``
header stands in for it.

    uvicorn examples.fastapi_app:app --port 8000      # EXAMPLE_DATA=./fastapi-data
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

from rankion_core import Actor, Deps, HmacUrlSigner, Rankion
from rankion_core.errors import RankionError, http_status
from rankion_core.ports import ImageQuery
from rankion_core.rules.limits import ID_MAX
from rankion_core.services import GenerateRequest
from rankion_core.services.files import BlobContent
from rankion_core.services.views import ImageView
from rankion_core.workers import WorkerPool
from rankion_fsspec import open_blob_store
from rankion_procedural import PillowCodec, ProceduralProvider
from rankion_sqlalchemy import open_storage

DATA = FsPath(os.environ.get("EXAMPLE_DATA", "./fastapi-data"))
DATA.mkdir(parents=True, exist_ok=True)
PUBLIC_URL = os.environ.get("EXAMPLE_URL", "http://127.0.0.1:8000")
SECRET = os.environ.get("EXAMPLE_SECRET", "change me: at least 16 bytes").encode()


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    storage = open_storage(f"sqlite+aiosqlite:///{DATA / 'rankion.db'}")
    await storage.migrate()
    deps = Deps(
        storage=storage,
        blobs=open_blob_store(str(DATA / "blobs")),
        provider=ProceduralProvider(),
        codec=PillowCodec(),
        signer=HmacUrlSigner(SECRET, PUBLIC_URL),  # links point at this app's /files/…
    )
    pool = WorkerPool(size=2)
    app.state.rankion = rankion = Rankion(deps, hooks=pool.hooks())
    async with pool.running(rankion):  # graceful: the job in hand finishes
        yield
    await rankion.close()


app = FastAPI(lifespan=lifespan)


def core(request: Request) -> Rankion:
    rankion: Rankion = request.app.state.rankion
    return rankion


#: ids are bounded before they reach the core, as the reference server does
Id = Annotated[int, Path(ge=1, le=ID_MAX)]


def actor(x_team: Annotated[int, Header(ge=1, le=ID_MAX)]) -> Actor:
    return Actor(team_id=x_team)  # stands in for your own login


Core = Annotated[Rankion, Depends(core)]
Me = Annotated[Actor, Depends(actor)]


@app.exception_handler(RankionError)
async def rankion_error(request: Request, exc: RankionError) -> JSONResponse:
    error = {"code": exc.code, "message": exc.message}  # 404s never echo the id
    return JSONResponse({"error": error}, status_code=http_status(exc))


class NewTeam(BaseModel):
    name: str
    credits: int = 100


class Generate(BaseModel):
    prompt: str
    size: str | None = None


@app.post("/teams", status_code=201)
async def create_team(body: NewTeam, rankion: Core) -> dict[str, Any]:
    team = await rankion.accounts.create_team(body.name, body.credits)
    return {"id": team.id}


@app.get("/images")
async def list_images(rankion: Core, me: Me, q: str | None = None) -> dict[str, Any]:
    page = await rankion.gallery.list(me, ImageQuery(team_id=me.team_id, q=q))
    return {"total": page.total, "items": [view_of(v) for v in page.items]}


@app.post("/images", status_code=202)
async def generate(body: Generate, rankion: Core, me: Me) -> dict[str, int]:
    queued = await rankion.creation.generate(me, GenerateRequest(body.prompt, size=body.size))
    return {"image_id": queued.image_id, "job_id": queued.job_id}


@app.get("/images/{image_id}")
async def image(image_id: Id, rankion: Core, me: Me) -> dict[str, Any]:
    return view_of((await rankion.gallery.detail(me, image_id)).view)


@app.get("/images/{image_id}/{variant}")
async def image_bytes(image_id: Id, variant: str, rankion: Core, me: Me) -> StreamingResponse:
    """``original``, ``thumbnail`` or a rendition (``webp-512``), for the team only."""
    return stream(await rankion.files.open(me, image_id, variant))


@app.get("/files/{key:path}")
async def signed_file(key: str, expires: str, sig: str, rankion: Core) -> StreamingResponse:
    """Where the links in ``url`` and ``thumbnail_url`` lead: no login, a signature."""
    blob = await rankion.files.open_signed(f"/files/{key}", expires, sig)
    return stream(blob, cache=f"private, max-age={blob.max_age or 0}")


def stream(blob: BlobContent, cache: str = "private, no-cache") -> StreamingResponse:
    headers = {"ETag": f'"{blob.etag}"', "Cache-Control": cache}
    if blob.size is not None:
        headers["Content-Length"] = str(blob.size)
    if blob.filename:
        headers["Content-Disposition"] = f'attachment; filename="{blob.filename}"'
    return StreamingResponse(blob.chunks(), media_type=blob.content_type, headers=headers)


def view_of(view: ImageView) -> dict[str, Any]:
    return {
        "id": view.image.id,
        "prompt": view.image.prompt,
        "status": view.image.processing_status.value,
        "url": view.url,
        "thumbnail_url": view.thumbnail_url,
    }
