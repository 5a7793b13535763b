"""The iCalendar feed of a project's calendar, and its token (issue, rotate, revoke).

The feed is public so calendar apps can subscribe to it: the token travels in the
query string. A missing, wrong, rotated-away or revoked token, another project's
token and a nonexistent project all answer the same JSON 404.
"""

from __future__ import annotations

from urllib.parse import quote

from aiohttp import web

from rankion_api.common import EmptyBody
from rankion_api.feeds import FeedTokenOut

from .. import ics
from ..bodies import parse
from ..keys import WEB_APP, actor, rankion
from ..operations import Param, operation
from ..responses import no_content, ok
from .common import path_id, seg

routes = web.RouteTableDef()
TAG = "calendar"
FEED = f"/v1/projects/{seg('project')}/calendar.ics"
FEED_TOKEN = f"/v1/projects/{seg('project')}/calendar/feed-token"
#: calendar apps poll; a short private cache spares the database
FEED_HEADERS = {"Cache-Control": "private, max-age=60", "Referrer-Policy": "no-referrer"}
TOKEN_PARAM = Param(
    "token",
    {"type": "string"},
    "the project's feed token (POST …/calendar/feed-token)",
    required=True,
)


def _base(request: web.Request) -> str:
    return rankion(request).deps.base_url or str(request.url.origin())


@routes.post(FEED_TOKEN)
@operation(
    "Issue or rotate the project's calendar feed token",
    TAG,
    status=201,
    response=FeedTokenOut,
    body=EmptyBody,
    body_optional=True,
    description="Returns a new token and the feed URL that carries it. Any earlier "
    "token of the project stops working at once.",
)
async def issue_feed_token(request: web.Request) -> web.StreamResponse:
    await parse(request, EmptyBody, optional=True)
    project_id = path_id(request, "project")
    token = await rankion(request).calendar_feeds.issue(actor(request), project_id)
    path = f"/v1/projects/{project_id}/calendar.ics"
    url = f"{_base(request)}{path}?token={quote(token, safe='')}"
    return ok(FeedTokenOut(token=token, url=url), status=201, location=path)


@routes.delete(FEED_TOKEN)
@operation(
    "Revoke the project's calendar feed token",
    TAG,
    status=204,
    description="Idempotent: 204 whether or not the project had a feed token (the "
    "old link stops working at once); 404 only for a missing (or another team's) project.",
)
async def revoke_feed_token(request: web.Request) -> web.StreamResponse:
    await rankion(request).calendar_feeds.revoke(actor(request), path_id(request, "project"))
    return no_content()


@routes.get(FEED, allow_head=False)
@operation(
    "The project's calendar as an iCalendar feed",
    TAG,
    public=True,
    media=ics.MEDIA_TYPE,
    params=(TOKEN_PARAM,),
    description="RFC 5545; one VEVENT per event that has a date. Needs no bearer "
    "token: the feed token in the query opens it. A bad token is the same 404 as "
    "a missing project. A team's feeds are refreshed one at a time: past "
    "a few requests waiting, the feed as last rendered, or 503 with Retry-After.",
)
async def calendar_feed(request: web.Request) -> web.StreamResponse:
    token, project_id = request.query.get("token", ""), path_id(request, "project")
    feeds, cache = rankion(request).calendar_feeds, request.app[ics.FEED_CACHE]
    base, with_urls = _base(request), request.app[WEB_APP]
    project = await feeds.open(project_id, token)  # the token checked every time
    body = cache.fresh(project.id, base, with_urls)
    if body is None:
        body = await cache.refresh(project, lambda: feeds.content(project), base, with_urls)
    return web.Response(
        body=body,
        content_type=ics.MEDIA_TYPE,
        charset="utf-8",
        headers=FEED_HEADERS,
    )
