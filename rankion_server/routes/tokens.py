"""The team's API tokens: list them (never the secret) and revoke one."""

from __future__ import annotations

from aiohttp import web

from rankion_api.accounts import TokenOut

from .. import render
from ..keys import TOKEN_CACHE, actor, rankion
from ..operations import operation
from ..query import PAGING, paging
from ..responses import no_content, page
from .common import path_id, seg

routes = web.RouteTableDef()
TAG = "tokens"


@routes.get("/v1/tokens", allow_head=False)
@operation(
    "List the team's API tokens, oldest first (never their secrets)",
    TAG,
    response=TokenOut,
    paged=True,
    params=PAGING,
)
async def list_tokens(request: web.Request) -> web.StreamResponse:
    number, per_page = paging(request.query)
    found = await rankion(request).accounts.tokens(actor(request), number, per_page)
    return page(found, render.api_token)


@routes.delete(f"/v1/tokens/{seg('id')}")
@operation(
    "Revoke an API token",
    TAG,
    status=204,
    description=(
        "The token stops working at once on this server and within 5 s on every other "
        "process. Revoking the token the request is made with is allowed: the answer is "
        "still 204, and the next request with it is 401."
    ),
)
async def revoke_token(request: web.Request) -> web.StreamResponse:
    token = await rankion(request).accounts.revoke_token(actor(request), path_id(request))
    request.app[TOKEN_CACHE].forget(token.id)
    return no_content()
