"""A FastAPI app with Rankion inside: SQLite, a blob folder, the offline procedural
provider, and the worker pool started and stopped by the app's lifespan.

Its own routes list and generate images, stream an image's bytes, and serve the signed
``/files/…`` links the services hand out (``url``, ``thumbnail_url``), which point here
because the signer's base URL is this app's. Who is asking is your app's business
(a session, a JWT); here the ``X-Team`` header stands in for it.

    GALLERY_DATA=./gallery GALLERY_URL=http://127.0.0.1:8000 \\
        uvicorn fastapi_app:app --app-dir examples --port 8000
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from rankion_core import Actor, Deps, HmacUrlSigner, Rankion, RankionError
from rankion_core.errors import InsufficientCredits, Invalid, NotFound, RateLimited, Unavailable
from rankion_core.ports import ImageQuery
from rankion_core.rules.limits import ID_MAX
from rankion_core.services import BlobContent, GenerateRequest, ImageView
from rankion_core.workers import WorkerPool
from rankion_fsspec import open_blob_store
from rankion_procedural import PillowCodec, ProceduralProvider
from rankion_sqlalchemy import open_storage

DATA = Path(os.environ.get("GALLERY_DATA", "gallery-data"))
PUBLIC_URL = os.environ.get("GALLERY_URL", "http://127.0.0.1:8000")
SECRET = os.environ.get("GALLERY_SECRET", "change me: 16 bytes or more").encode()

pool = WorkerPool(size=2, poll_seconds=0.5)
rankion = Rankion(
    Deps(
        storage=open_storage(f"sqlite:///{DATA / 'gallery.db'}"),
        blobs=open_blob_store(str(DATA / "blobs")),
        provider=ProceduralProvider(),
        codec=PillowCodec(),
        signer=HmacUrlSigner(SECRET, PUBLIC_URL),
    ),
    hooks=pool.hooks(),
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await rankion.deps.storage.migrate()
    async with pool.running(rankion):  # the jobs run while the app serves
        yield
    await rankion.close()


app = FastAPI(lifespan=lifespan)
STATUS = {NotFound: 404, Invalid: 422, InsufficientCredits: 402, RateLimited: 429, Unavailable: 503}


@app.exception_handler(RankionError)
async def rankion_error(request: Request, error: RankionError) -> JSONResponse:
    status = next((s for kind, s in STATUS.items() if isinstance(error, kind)), 409)
    return JSONResponse({"code": error.code, "message": error.message}, status_code=status)


def actor(x_team: Annotated[int, Header(gt=0, le=ID_MAX)]) -> Actor:
    return Actor(team_id=x_team)


Me = Annotated[Actor, Depends(actor)]


def shown(view: ImageView) -> dict[str, Any]:
    image = view.image
    return {"id": image.id, "prompt": image.prompt, "status": image.processing_status,
            "url": view.url, "thumbnail_url": view.thumbnail_url}  # fmt: skip


def streamed(content: BlobContent) -> StreamingResponse:
    headers = {"ETag": f'"{content.etag}"'}
    if content.size is not None:
        headers["Content-Length"] = str(content.size)
    if content.max_age is not None:
        headers["Cache-Control"] = f"private, max-age={content.max_age}"
    return StreamingResponse(content.chunks(), media_type=content.content_type, headers=headers)


class Generate(BaseModel):
    prompt: str = Field(max_length=4000)
    size: str | None = Field(default=None, max_length=16)


@app.get("/images")
async def list_images(
    me: Me, q: Annotated[str | None, Query(max_length=200)] = None
) -> list[dict[str, Any]]:
    page = await rankion.gallery.list(me, ImageQuery(team_id=me.team_id, q=q))
    return [shown(view) for view in page.items]


@app.post("/images", status_code=202)
async def generate(me: Me, body: Generate) -> dict[str, int]:
    queued = await rankion.creation.generate(me, GenerateRequest(body.prompt, size=body.size))
    return {"id": queued.image_id}


@app.get("/images/{image_id}")
async def image(me: Me, image_id: int) -> dict[str, Any]:
    return shown(await rankion.gallery.get(me, image_id))


@app.get("/images/{image_id}/bytes")
async def image_bytes(
    me: Me, image_id: int, variant: Annotated[str, Query(max_length=32)] = "original"
) -> StreamingResponse:
    return streamed(await rankion.files.open(me, image_id, variant))


@app.get("/files/{key:path}")
async def signed_file(
    key: str,
    expires: Annotated[str, Query(max_length=20)] = "",
    sig: Annotated[str, Query(max_length=64)] = "",
) -> StreamingResponse:
    return streamed(await rankion.files.open_signed(f"/files/{key}", expires, sig))
