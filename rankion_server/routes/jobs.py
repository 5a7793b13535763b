"""Background jobs and chat sessions."""

from __future__ import annotations

from aiohttp import web

from rankion_api.common import EmptyBody
from rankion_api.jobs import ChatSessionOut, JobOut
from rankion_core.rules.limits import CHAT_SESSIONS_PER_TEAM

from .. import render
from ..bodies import parse
from ..keys import actor, rankion
from ..operations import operation
from ..responses import ok
from .common import path_id, seg

routes = web.RouteTableDef()


@routes.get(f"/v1/jobs/{seg('job_id')}", allow_head=False)
@operation("Read a job", "jobs", response=JobOut)
async def get_job(request: web.Request) -> web.StreamResponse:
    job = await rankion(request).jobs.get(actor(request), path_id(request, "job_id"))
    return ok(render.job(job))


@routes.post(f"/v1/images/{seg('id')}/open-in-chat")
@operation(
    "Open a chat session on an image",
    "chat",
    status=201,
    response=ChatSessionOut,
    body=EmptyBody,
    body_optional=True,
    errors=(409,),
    headers=("Location",),
    description="A trashed image is 409 image_in_trash. A team may have "
    f"{CHAT_SESSIONS_PER_TEAM:,} chat sessions (a setting; a session goes when its image "
    "is deleted for good): past it, 422 limit_exceeded.",
)
async def open_in_chat(request: web.Request) -> web.StreamResponse:
    await parse(request, EmptyBody, optional=True)
    session = await rankion(request).chat.open(actor(request), path_id(request))
    location = f"/v1/chat/sessions/{session.id}"
    return ok(render.chat_session(session), status=201, location=location)


@routes.get(f"/v1/chat/sessions/{seg('id')}", allow_head=False)
@operation("Read a chat session", "chat", response=ChatSessionOut)
async def get_chat_session(request: web.Request) -> web.StreamResponse:
    session = await rankion(request).chat.get(actor(request), path_id(request))
    return ok(render.chat_session(session))
