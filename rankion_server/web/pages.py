"""The app's pages: sign-in and sign-out, gallery, image, trash, calendar, 404.

Each page is read through the same services and query parsers as ``/v1`` (a bad filter
shows the API's own message) and rendered by a Jinja2 template; what a page changes,
its ES module changes through ``/v1`` with the session cookie and CSRF header. Pages
are public routes for the auth middleware: they find their caller in the session
cookie themselves, and send a stranger to the sign-in page.
"""

from __future__ import annotations

import calendar as monthcal
import re
from collections.abc import Callable, Collection
from datetime import date, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import unquote, urlencode

import aiohttp_jinja2
from aiohttp import web
from attrs import define, field
from multidict import MultiDict, MultiDictProxy, MultiMapping

from rankion_core import Actor
from rankion_core.errors import Invalid, NotFound
from rankion_core.models import DRAWN_LATER, EventStatus, EventType

from .. import render
from ..errors import Unauthorized
from ..keys import ACTOR, CONFIG, TOKEN_CACHE, rankion
from ..limits import hold_team
from ..operations import Handler, operation
from ..query import IMAGE_LIST, event_query, image_query
from ..routes.common import path_id, seg
from . import session
from .assets import HEADERS
from .session import CSRF_FIELD, SESSION_COOKIE, SESSION_KEY

routes = web.RouteTableDef()
TAG = "web"
HTML = "text/html"
#: the gallery's first screenful (three rows at 1280 px), requested at once; later
#: tiles load lazily. The first row (six tiles at 1280 px) asks for high priority.
EAGER_TILES = 18
FIRST_ROW = 6


def _page(op_summary: str, description: str = "") -> Callable[[Handler], Handler]:
    return operation(op_summary, TAG, public=True, media=HTML, description=description)


async def viewer(request: web.Request) -> Actor | None:
    try:
        key = request.app[SESSION_KEY]
        return await session.session_actor(request, rankion(request), key, request.app[TOKEN_CACHE])
    except Unauthorized:
        return None


def _see_other(location: str) -> web.HTTPSeeOther:
    body = f'<!doctype html><title>See other</title><a href="{escape(location)}">Continue</a>'
    return web.HTTPSeeOther(location, headers=HEADERS, text=body, content_type="text/html")


def html(
    request: web.Request, template: str, context: dict[str, Any], status: int = 200
) -> web.Response:
    cookie = request.cookies.get(SESSION_COOKIE, "")
    base = {
        "csrf": session.csrf_token(request.app[SESSION_KEY], cookie) if cookie else "",
        "csrf_field": CSRF_FIELD,
        "path": request.path,
    }
    response = aiohttp_jinja2.render_template(template, request, base | context, status=status)
    response.headers.update(HEADERS)
    return response


def not_found_page(request: web.Request) -> web.Response:
    """The one 404 page of the app, the same whatever was asked and why it is absent."""
    return html(request, "not_found.html", {"signed_in": SESSION_COOKIE in request.cookies}, 404)


#: a return path, as the browser sent it: an app page's path and query, in URL
#: characters only (no space, backslash, quote, angle bracket or fragment)
RETURN_PATH = re.compile(r"/app(?:[/?][A-Za-z0-9\-._~!$&'()*+,;=:@%/?\[\]]*)?")
#: the pages a return path never leads back to (signing in is where it comes from)
NO_RETURN = frozenset({"/app/sign-in", "/app/sign-out"})
RETURN_MAX = 2000


def return_path(raw: str | None) -> str | None:
    """Where to go after signing in: a path and query of this app's own pages, or None.
    Strict, so that it is never a way off the site nor out of ``/app/``: ``/app`` or
    ``/app/…``, no ``//``, no dot segment (encoded or not), nothing but URL characters."""
    if not raw or len(raw) > RETURN_MAX or not RETURN_PATH.fullmatch(raw):
        return None
    path = unquote(raw.split("?", 1)[0])
    dots = any(s in (".", "..") for s in path.split("/"))
    if dots or not path.isprintable() or "//" in path or "\\" in path:
        return None
    return None if path.rstrip("/") in NO_RETURN else raw


def _sign_in_url(request: web.Request) -> str:
    """The sign-in page, told to come back to the page asked for (the fragment, which
    the browser keeps itself, is not sent)."""
    back = return_path(request.raw_path)
    return "/app/sign-in" + (f"?{urlencode({'next': back})}" if back and back != "/app" else "")


async def _signed_in(request: web.Request) -> Actor:
    who = await viewer(request)
    if who is None:
        raise _see_other(_sign_in_url(request))
    request[ACTOR] = who  # for the access log
    await hold_team(request, who.team_id)  # as the team's /v1 calls are
    return who


@routes.get("/", allow_head=False)
@_page("The app's front door", "303 to /app when signed in, else to /app/sign-in.")
async def front_door(request: web.Request) -> web.StreamResponse:
    raise _see_other("/app" if await viewer(request) else "/app/sign-in")


@routes.get("/app/sign-in", allow_head=False)
@_page("The sign-in form")
async def sign_in_form(request: web.Request) -> web.StreamResponse:
    if await viewer(request) is not None:
        raise _see_other(return_path(request.query.get("next")) or "/app")
    return html(request, "sign_in.html", {"error": None})


async def _form(request: web.Request) -> MultiDictProxy[Any]:
    """The posted form; a body that is no form reads as an empty one."""
    try:
        return await request.post()
    except (ValueError, AssertionError, LookupError):  # a broken multipart body, say
        return MultiDictProxy(MultiDict())


def _same_origin(request: web.Request) -> bool:
    """A form post from this app's own pages (``Origin`` absent or this host)."""
    origin = request.headers.get("Origin")
    return origin is None or origin == str(request.url.origin())


@routes.post("/app/sign-in")
@operation(
    "Sign in with an API token",
    TAG,
    public=True,
    media=HTML,
    status=303,
    extra={"html_answers": {401: "A bad token: the form again, with the reason"}},
    description="Form field token. Success sets the HttpOnly, SameSite=Strict session "
    "cookie and 303s to the query's next (a path of the app: /app or /app/…), else /app.",
)
async def sign_in(request: web.Request) -> web.StreamResponse:
    token = (await _form(request)).get("token")
    app = rankion(request)
    who = None
    if isinstance(token, str) and _same_origin(request) and len(token) <= 200:
        who = await app.accounts.authenticate(token.strip())
    if who is None or who.token_id is None or not isinstance(token, str):
        message = (
            "That token is not valid: check it, or make a new one "
            "(rankion token create --team NAME)."
        )
        return html(request, "sign_in.html", {"error": message}, status=401)
    value = session.cookie_for(
        request.app[SESSION_KEY], who.token_id, token.strip(), app.deps.clock.now()
    )
    response = _see_other(return_path(request.query.get("next")) or "/app")
    secure = (request.app[CONFIG].public_url or "").startswith("https:")
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=session.SESSION_MAX_AGE,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=secure,
    )
    raise response


@routes.post("/app/sign-out")
@operation(
    "Sign out",
    TAG,
    public=True,
    media=HTML,
    status=303,
    errors=(403,),
    extra={"html_answers": {200: "No session to end: a page that says so"}},
    description="Form field csrf (403 csrf_failed without the session's); ends the "
    "session and 303s to the sign-in page.",
)
async def sign_out(request: web.Request) -> web.StreamResponse:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie is None:  # no session: nothing to end, nor to forge
        return html(request, "signed_out.html", {})
    given = (await _form(request)).get(CSRF_FIELD)
    key = request.app[SESSION_KEY]
    session.check_csrf(key, cookie, given if isinstance(given, str) else None)
    response = _see_other("/app/sign-in")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


#: the names ``GET /v1/images`` takes: all the gallery page reads of its query
GALLERY_NAMES = frozenset(p.name for p in IMAGE_LIST if p.where == "query")
#: what the calendar page reads of its query (``view`` and ``week``: which of the
#: month's weeks the week view shows; not filters, so a bad value is the default)
CALENDAR_NAMES = frozenset({"month", "status", "type", "view", "week"})


def _applied(query: MultiMapping[str], names: Collection[str]) -> MultiDictProxy[str]:
    """What a page applies of its query: the parameters it reads (``names``), each with
    a value. An empty filter box means no filter, and anything else (``utm_source``, a
    chat app's preview marker) is a link's decoration, not a filter."""
    return MultiDictProxy(MultiDict((k, v) for k, v in query.items() if k in names and v.strip()))


def _split_tags(query: MultiDictProxy[str]) -> MultiDictProxy[str]:
    """The gallery's query with each ``tags[]`` box read as comma-separated tags (the
    Tag box holds them all, as the generate form's does): ``tags[]=a, b`` is
    ``tags[]=a&tags[]=b``."""
    pairs: list[tuple[str, str]] = []
    for k, v in query.items():
        if k == "tags[]":
            pairs += [(k, tag.strip()) for tag in v.split(",") if tag.strip()]
        else:
            pairs.append((k, v))
    return MultiDictProxy(MultiDict(pairs))


def _at_page(query: MultiDictProxy[str], page: int | None) -> str:
    """The gallery's URL for ``query`` at ``page`` (``None``: the first, unnamed). Its
    query is also what the page's script asks ``/v1/images`` for the next page."""
    pairs = [(k, v) for k, v in query.items() if k != "page"]
    encoded = urlencode(pairs + ([("page", str(page))] if page else []))
    return f"/app?{encoded}" if encoded else "/app"


async def _chrome(request: web.Request, who: Actor) -> dict[str, Any]:
    app = rankion(request)
    projects = await app.accounts.projects(who, 1, 100)
    return {"balance": await app.accounts.balance(who), "projects": projects.items}


@routes.get("/app", allow_head=False)
@_page("The gallery", "Filters in the query string, as GET /v1/images takes them.")
async def gallery(request: web.Request) -> web.StreamResponse:
    who = await _signed_in(request)
    query = _split_tags(_applied(request.query, GALLERY_NAMES))
    error, rows, meta = None, [], None
    try:
        found = await rankion(request).gallery.list(who, image_query(query, who.team_id))
        rows = [render.image_row(v) for v in found.items]
        meta = {
            "page": found.page,
            "per_page": found.per_page,
            "last_page": found.last_page,
            "total": found.total,
        }
    except Invalid as exc:
        error = exc
    return html(
        request,
        "gallery.html",
        {
            **await _chrome(request, who),
            "images": rows,
            "meta": meta,
            "error": error,
            "query": query,
            "tags": query.getall("tags[]", []),
            "more_url": _at_page(query, meta["page"] + 1) if meta else "",
            "first_url": _at_page(query, None),
            "eager": EAGER_TILES,
            "first_row": FIRST_ROW,
        },
        status=422 if error else 200,
    )


@define
class Node:
    row: dict[str, Any]
    children: list[Node] = field(factory=list)


def _tree(root: dict[str, Any]) -> list[Node]:
    """The root with its variants nested under their parents."""
    nodes = {root["id"]: Node(root)}
    for variant in root["variants"]:
        nodes[variant["id"]] = Node(variant)
    for variant in root["variants"]:
        parent = nodes.get(variant["parent_id"])
        if parent is not None:
            parent.children.append(nodes[variant["id"]])
    return [nodes[root["id"]]]


@routes.get(f"/app/images/{seg('id')}", allow_head=False)
@_page("An image with its variant tree", "Another team's id: the app's 404 page.")
async def image_page(request: web.Request) -> web.StreamResponse:
    who = await _signed_in(request)
    gallery_ = rankion(request).gallery
    try:
        detail = render.image_detail_row(await gallery_.detail(who, path_id(request)))
        root_id = detail["parents"][0]["id"] if detail["parents"] else detail["id"]
        root = (
            detail
            if root_id == detail["id"]
            else render.image_detail_row(await gallery_.detail(who, root_id))
        )
    except NotFound:
        return not_found_page(request)
    return html(
        request,
        "image.html",
        {
            **await _chrome(request, who),
            "image": detail,
            "tree": _tree(root),
            "now": rankion(request).deps.clock.now(),
            "job_id": await _drawing_job(request, who, detail),
        },
    )


async def _drawing_job(request: web.Request, who: Actor, image: dict[str, Any]) -> int | None:
    """The job still drawing ``image`` (its page follows it as the gallery's tile
    does); None once the image is drawn."""
    if image["processing_status"] not in DRAWN_LATER:
        return None  # no read for a drawn image's page
    job = await rankion(request).jobs.drawing(who, image["id"])
    return None if job is None else job.id


#: how much of an untitled image's prompt names it
NAME_CHARS = 60


def image_name(row: dict[str, Any]) -> str:
    """What an image is called wherever the app names it (a tile, its controls, a
    node of the variant tree): its title, else the start of its prompt. ``imageName``
    in ``static/api.js`` names the rows a script adds the same way."""
    return str(row["title"] or row["prompt"][:NAME_CHARS] or f"image {row['id']}")


def days_left(purge_at: datetime | None, now: datetime) -> int:
    if purge_at is None:
        return 0
    return max(0, -((now - purge_at) // timedelta(days=1)))


@routes.get("/app/trash", allow_head=False)
@_page("The trash", "Restore, delete forever, days left before the purge.")
async def trash_page(request: web.Request) -> web.StreamResponse:
    who = await _signed_in(request)
    app = rankion(request)
    try:
        number = int(request.query.get("page", "1"))
    except ValueError:
        number = 1
    found = await app.gallery.trash(who, max(1, min(number, 10_000)), 60)
    now = app.deps.clock.now()
    rows = [
        render.image_row(v) | {"days_left": days_left(v.image.purge_at, now)} for v in found.items
    ]
    meta = {"page": found.page, "last_page": found.last_page, "total": found.total}
    return html(
        request, "trash.html", {**await _chrome(request, who), "images": rows, "meta": meta}
    )


#: the months the calendar draws: every day of their weeks is a date in any time zone
#: (the first week of 0001-01 would start in year 0 east of UTC; 9999-12's last week
#: ends in year 10000)
MONTHS = (date(1, 2, 1), date(9999, 11, 1))


def month_key(first: date) -> str:
    """``YYYY-MM``, as ``month=`` takes it (``strftime`` drops the zeros of year 1)."""
    return f"{first.year:04d}-{first.month:02d}"


MONTH_MESSAGE = f"month must be YYYY-MM, from {month_key(MONTHS[0])} to {month_key(MONTHS[1])}"


def _month(raw: str | None, today: date) -> date:
    if raw is None:
        return today.replace(day=1)
    try:
        year, month = raw.split("-")
        if len(year) != 4 or len(month) != 2:
            raise ValueError(raw)
        first = date(int(year), int(month), 1)
    except ValueError:
        first = None
    if first is None or not MONTHS[0] <= first <= MONTHS[1]:
        raise Invalid(MONTH_MESSAGE, details={"month": "YYYY-MM"})
    return first


def _shift(first: date, months: int) -> str | None:
    """The ``month=`` of the month ``months`` away; None past the months drawn."""
    year, month = divmod(first.year * 12 + first.month - 1 + months, 12)
    shifted = date(year, month + 1, 1) if 1 <= year <= 9999 else None
    return month_key(shifted) if shifted and MONTHS[0] <= shifted <= MONTHS[1] else None


def _month_url(filters: MultiMapping[str], month: str | None, weekly: bool) -> str | None:
    """The query of the calendar at ``month`` with the page's filters and view kept
    (None: no such month)."""
    view = [("view", "week")] if weekly else []
    return f"?{urlencode([('month', month), *filters.items(), *view])}" if month else None


def _shown_week(raw: str | None, weeks: list[list[date]], today: date) -> int:
    """The week (1-based) the week view shows: ``week=N`` of the query, else the week
    holding today, else the first."""
    if raw is not None and raw.isascii() and raw.isdigit() and 1 <= int(raw) <= len(weeks):
        return int(raw)
    return next((n for n, week in enumerate(weeks, 1) if today in week), 1)


#: a glyph per event type (the type's name is always beside it for screen readers)
TYPE_ICONS = {
    "article": "¶",
    "social_post": "#",
    "newsletter": "✉",
    "video": "▶",
    "podcast": "♪",
    "other": "•",
}


def _chosen(filters: MultiDict[str], name: str) -> set[str]:
    return {v.strip() for raw in filters.getall(name, []) for v in raw.split(",")}


def _weeks(first: date) -> list[list[date]]:
    return monthcal.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)


@routes.get(f"/app/projects/{seg('id')}/calendar", allow_head=False)
@_page("A project's month", "month=YYYY-MM; status and type filter as on the API list.")
async def calendar_page(request: web.Request) -> web.StreamResponse:
    who = await _signed_in(request)
    app = rankion(request)
    project_id = path_id(request)
    try:
        project = await app.accounts.project(who, project_id)
        zone = await app.calendar.zone(who, project_id)
    except NotFound:
        return not_found_page(request)
    now_local = app.deps.clock.now().astimezone(zone)
    query = _applied(request.query, CALENDAR_NAMES)
    error = None
    try:
        first = _month(query.get("month"), now_local.date())
    except Invalid as exc:
        error, first = exc, now_local.date().replace(day=1)
    weeks = _weeks(first)
    weekly = query.get("view") == "week"
    filters = MultiDict((k, v) for k, v in query.items() if k in ("status", "type"))
    events: list[Any] = []
    backlog: list[Any] = []
    try:
        span = MultiDict(filters)
        span.update(
            {"from": weeks[0][0].isoformat(), "to": weeks[-1][-1].isoformat(), "per_page": "500"}
        )
        found = await app.calendar.list(
            who, event_query(MultiDictProxy(span), who.team_id, project_id, zone)
        )
        events = [render.event(e, zone) for e in found.items]
        ideas = MultiDict(filters)
        ideas.update({"unscheduled": "true", "per_page": "500"})
        undated = await app.calendar.list(
            who, event_query(MultiDictProxy(ideas), who.team_id, project_id, zone)
        )
        backlog = [render.event(e, zone) for e in undated.items]
    except Invalid as exc:
        error = exc
    by_day: dict[str, list[Any]] = {}
    for e in events:
        if e.scheduled_local:
            by_day.setdefault(e.scheduled_local[:10], []).append(e)
    return html(
        request,
        "calendar.html",
        {
            **await _chrome(request, who),
            "project": project,
            "zone": str(zone),
            "first": first,
            "month": month_key(first),
            "prev": _month_url(filters, _shift(first, -1), weekly),
            "next": _month_url(filters, _shift(first, 1), weekly),
            "this_month": _month_url(filters, month_key(now_local.date()), weekly),
            "weeks": weeks,
            "weekly": weekly,
            "week": _shown_week(query.get("week"), weeks, now_local.date()),
            "today": now_local.date(),
            "by_day": by_day,
            "backlog": backlog,
            "error": error,
            "statuses": [s.value for s in EventStatus],
            "types": [t.value for t in EventType],
            "chosen_status": _chosen(filters, "status"),
            "chosen_type": _chosen(filters, "type"),
            "icons": TYPE_ICONS,
        },
        status=422 if error else 200,
    )


@routes.get("/app/{tail:(?!sign-out$).*}", allow_head=False)  # sign-out is POST only
@_page("Any other app path: the app's 404 page")
async def app_not_found(request: web.Request) -> web.StreamResponse:
    return not_found_page(request)
