"""Projects, and the legacy per-project image list."""

from __future__ import annotations

from aiohttp import web

from rankion_api.accounts import CreateProjectBody, ProjectOut, UpdateProjectBody
from rankion_api.common import given
from rankion_api.images import ImageOut
from rankion_core.rules.limits import PROJECTS_PER_TEAM

from .. import render
from ..bodies import parse
from ..keys import actor, rankion
from ..operations import operation
from ..query import IMAGE_FILTERS, PAGING, image_query, paging
from ..responses import ok, page
from .common import path_id, seg

routes = web.RouteTableDef()
TAG = "projects"


@routes.get("/v1/projects", allow_head=False)
@operation("List the team's projects", TAG, response=ProjectOut, paged=True, params=PAGING)
async def list_projects(request: web.Request) -> web.StreamResponse:
    number, per_page = paging(request.query)
    found = await rankion(request).accounts.projects(actor(request), number, per_page)
    return page(found, render.project)


@routes.post("/v1/projects")
@operation(
    "Create a project",
    TAG,
    status=201,
    response=ProjectOut,
    body=CreateProjectBody,
    description=f"A team may have {PROJECTS_PER_TEAM:,} projects (a setting): past it, "
    "422 limit_exceeded.",
)
async def create_project(request: web.Request) -> web.StreamResponse:
    body = await parse(request, CreateProjectBody)
    project = await rankion(request).accounts.create_project(
        actor(request), body.name, body.time_zone
    )
    return ok(render.project(project), status=201, location=f"/v1/projects/{project.id}")


@routes.get(f"/v1/projects/{seg('project')}", allow_head=False)
@operation("Read a project", TAG, response=ProjectOut)
async def get_project(request: web.Request) -> web.StreamResponse:
    project = await rankion(request).accounts.project(actor(request), path_id(request, "project"))
    return ok(render.project(project))


@routes.patch(f"/v1/projects/{seg('project')}")
@operation(
    "Update a project",
    TAG,
    response=ProjectOut,
    body=UpdateProjectBody,
    description="Rename it or change its time zone; fields not sent keep their value. "
    "Events keep their instants: their local times follow the new zone.",
)
async def update_project(request: web.Request) -> web.StreamResponse:
    body = await parse(request, UpdateProjectBody)
    project = await rankion(request).accounts.update_project(
        actor(request),
        path_id(request, "project"),
        name=given(body.name),
        time_zone=given(body.time_zone),
    )
    return ok(render.project(project))


@routes.get(f"/v1/projects/{seg('project')}/images", allow_head=False)
@operation(
    "List a project's images (legacy)",
    "images",
    response=ImageOut,
    paged=True,
    params=IMAGE_FILTERS,
    deprecated=True,
    headers=("Deprecation", "Link"),
    description="Kept for compatibility: use GET /v1/images?project_id=… instead.",
)
async def legacy_project_images(request: web.Request) -> web.StreamResponse:
    who, app = actor(request), rankion(request)
    project = await app.accounts.project(who, path_id(request, "project"))
    query = image_query(request.query, who.team_id, project_id=project.id)
    headers = {
        "Deprecation": "true",
        "Link": f'</v1/images?project_id={project.id}>; rel="successor-version"',
    }
    return page(await app.gallery.list(who, query), render.image_row, headers=headers, plain=True)
