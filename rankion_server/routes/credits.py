"""The team's credit balance and its ledger."""

from __future__ import annotations

from aiohttp import web

from rankion_api.accounts import BalanceOut, LedgerEntryOut

from .. import render
from ..keys import actor, rankion
from ..operations import operation
from ..query import PAGING, paging
from ..responses import ok, page

routes = web.RouteTableDef()
TAG = "credits"


@routes.get("/v1/credits", allow_head=False)
@operation("Read the credit balance", TAG, response=BalanceOut)
async def balance(request: web.Request) -> web.StreamResponse:
    return ok(BalanceOut(balance=await rankion(request).accounts.balance(actor(request))))


@routes.get("/v1/credits/ledger", allow_head=False)
@operation(
    "List ledger entries, newest first", TAG, response=LedgerEntryOut, paged=True, params=PAGING
)
async def ledger(request: web.Request) -> web.StreamResponse:
    number, per_page = paging(request.query)
    entries = await rankion(request).accounts.ledger(actor(request), number, per_page)
    return page(entries, render.ledger_entry)
