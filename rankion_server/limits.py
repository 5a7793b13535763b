"""Abuse limits of the HTTP layer: a request rate per team on the charging routes,
and the body size on every route.

- **Charge rate** — a token bucket per team and *per process* (``charge_rate``
  requests a minute, bursts up to the same number). Several ``serve`` processes each
  allow that rate; the per-team limit on active jobs (in the core, counted in the
  database) bounds the total. Over the rate: ``429 rate_limited`` with ``Retry-After``.
  ``charge_rate = 0`` turns it off.
- **Write rate** — every change (``POST``, ``PUT``, ``PATCH``, ``DELETE``) of a team
  spends one token of another bucket per team and process (``write_rate`` a minute):
  free changes (calendar events, projects, chats) cost the server and the database
  too, and a team flooding them grew the database by gigabytes an hour. A calendar
  shift costs one more per ``SHIFT_EVENTS_PER_WRITE`` events it reads: it takes what
  the largest shift costs before it starts (so shifts sent at once cannot all start
  on one token each) and gives back what it did not read. Over the rate: ``429
  rate_limited`` with ``Retry-After``.
- **Event streams** — at most ``max_streams_per_team`` open ``/v1/jobs/{id}/events``
  streams per team and process (``OpenStreams``); one more is ``429 rate_limited``
  with ``Retry-After``. A stream's slot is given back as soon as it ends.
- **Requests in flight** — at most ``max_requests_per_team`` requests of one team
  are answered at once per process (``TeamRequests``); the next ones wait, in order,
  for one of them to end (16 times as many may wait, each at most ``REQUEST_WAIT``
  seconds), then ``429 rate_limited`` with ``Retry-After``. Reads have no rate: a team
  sending many slow ones at once held every connection of PostgreSQL's pool, and
  everyone else's requests queued behind them. Event streams are counted apart.
- **Body size** — ``Content-Length`` beyond ``max_body_bytes`` is ``413`` before the
  handler runs, on every route, whether or not it reads a body; a chunked body
  without a length is read up to the limit (then ``413``), so a streamed upload
  cannot slip past either. Routing still comes first: an unknown path is ``404``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from aiohttp import web

from rankion_core.errors import RateLimited
from rankion_core.turns import TeamTurns

from .keys import CONFIG, actor
from .operations import H, Handler

#: teams whose buckets are remembered (least recently used ones are dropped: full again)
MAX_TEAMS = 10_000


class TokenBuckets:
    """One bucket per team: ``per_minute`` tokens, refilled continuously."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0  # tokens per second
        self.clock = clock
        self._buckets: OrderedDict[int, tuple[float, float]] = OrderedDict()

    def take(self, team_id: int, tokens: float = 1.0) -> float:
        """0.0 when the team may go on (``tokens`` are spent; at most a full bucket),
        else seconds until it may."""
        if self.capacity <= 0:
            return 0.0
        tokens = min(tokens, self.capacity)
        now = self.clock()
        held, then = self._buckets.pop(team_id, (self.capacity, now))
        held = min(self.capacity, held + (now - then) * self.refill)
        wait = 0.0 if held >= tokens else (tokens - held) / self.refill
        if wait == 0.0:
            held -= tokens
        self._buckets[team_id] = (held, now)
        while len(self._buckets) > MAX_TEAMS:
            self._buckets.popitem(last=False)
        return wait

    def give_back(self, team_id: int, tokens: float) -> None:
        """Return ``tokens`` taken but not used (up to a full bucket)."""
        if self.capacity <= 0 or tokens <= 0 or team_id not in self._buckets:
            return
        held, then = self._buckets[team_id]
        self._buckets[team_id] = (min(self.capacity, held + tokens), then)


CHARGE_BUCKETS = web.AppKey("charge_buckets", TokenBuckets)
WRITE_BUCKETS = web.AppKey("write_buckets", TokenBuckets)
#: the methods that change something
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: events a shift moves for one more token of the write rate
SHIFT_EVENTS_PER_WRITE = 25


def check_write_rate(request: web.Request, team_id: int, tokens: float = 1.0) -> None:
    """Spend ``tokens`` of the team's write tokens (one a change); ``429`` without."""
    if request.method in WRITES:
        wait = request.app[WRITE_BUCKETS].take(team_id, tokens)
        if wait > 0:
            raise RateLimited(
                "too many changes for this team; slow down", retry_after=max(1, math.ceil(wait))
            )


def rate_limited(handler: H) -> H:
    """Spend one of the team's charge tokens before ``handler`` (apply it innermost,
    below ``@idempotent``: a replay charges nothing, so it costs no token)."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        wait = request.app[CHARGE_BUCKETS].take(actor(request).team_id)
        if wait > 0:
            raise RateLimited(
                "too many generate or edit requests for this team; slow down",
                retry_after=max(1, math.ceil(wait)),
            )
        return await handler(request)

    return wrapper  # type: ignore[return-value]


@web.middleware
async def body_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """``413`` for a body over the limit on every route (after routing, before auth)."""
    if request.match_info.http_exception is None and request.body_exists:
        limit = request.app[CONFIG].max_body_bytes
        length = request.content_length
        if length is not None and length > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=length)
        if length is None:
            await request.read()  # chunked: aiohttp stops at client_max_size with 413
    return await handler(request)


class OpenStreams:
    """Event streams open per team in this process, at most ``per_team`` each.

    Streams live in the process that serves them, so the count is per process: with
    several ``serve`` processes a team may hold ``per_team`` streams on each.
    ``per_team = 0`` turns the limit off (streams are still counted)."""

    def __init__(self, per_team: int) -> None:
        self.per_team = per_team
        self._open: dict[int, int] = {}
        #: the server is stopping: every open stream ends at its next poll
        self.closing = False

    def count(self, team_id: int) -> int:
        return self._open.get(team_id, 0)

    def total(self) -> int:
        return sum(self._open.values())

    @contextlib.contextmanager
    def hold(self, team_id: int) -> Iterator[None]:
        """One slot of ``team_id`` while the block runs; ``429`` when none is free."""
        held = self._open.get(team_id, 0)
        if 0 < self.per_team <= held:
            raise RateLimited(
                f"this team already has {held} open event streams; close one first",
                retry_after=STREAM_RETRY_AFTER,
            )
        self._open[team_id] = held + 1
        try:
            yield
        finally:
            left = self._open[team_id] - 1
            if left:
                self._open[team_id] = left
            else:
                del self._open[team_id]


#: seconds a client over the stream limit is told to wait
STREAM_RETRY_AFTER = 5
OPEN_STREAMS = web.AppKey("open_streams", OpenStreams)


#: the media of an event stream (its own limit: ``OpenStreams``)
EVENT_STREAM = "text/event-stream"
#: seconds a request's body (at most ``max_body_bytes``) may take to come in
BODY_SECONDS = 60.0
#: seconds a request may wait for one of its team's requests in flight to end
REQUEST_WAIT = 10.0
#: requests of a team that may wait, per request it may have in flight
WAITING_PER_SLOT = 16
#: seconds a team over its requests in flight is told to wait
REQUEST_RETRY_AFTER = 1


class TeamRequests:
    """Requests of each team answered at once in this process: at most ``per_team``
    (``0``: no limit). One more waits, in order, for one of them to end: at most
    ``WAITING_PER_SLOT`` times ``per_team`` wait, each for at most ``wait`` seconds;
    past either, ``429``. A request's body is read before it waits (``first``), so a
    body that never comes holds no slot.

    Per process, like the other buckets: it keeps one team from taking a whole
    process (its connection pool, its reader threads), whatever each request costs."""

    def __init__(self, per_team: int, *, wait: float = REQUEST_WAIT) -> None:
        self.per_team = per_team
        self.wait = wait
        self._turns = TeamTurns(max(per_team, 1))

    def count(self, team_id: int) -> int:
        """The team's requests in flight or waiting."""
        return self._turns.count(team_id)

    @contextlib.asynccontextmanager
    async def hold(
        self, team_id: int, first: Callable[[], Awaitable[None]] | None = None
    ) -> AsyncIterator[None]:
        """One of the team's slots while the block runs (see the class); ``first`` is
        awaited before the slot is asked for."""
        if self.per_team <= 0:
            if first is not None:
                await first()
            yield
            return
        if self._turns.count(team_id) >= (1 + WAITING_PER_SLOT) * self.per_team:
            raise self._refused()
        async with self._turns.turn(team_id, wait=self.wait, late=self._refused, first=first):
            yield

    def _refused(self) -> RateLimited:
        return RateLimited(
            f"this team already has {self.per_team} requests being answered; wait for one",
            retry_after=REQUEST_RETRY_AFTER,
        )


TEAM_REQUESTS = web.AppKey("team_requests", TeamRequests)
#: a slot a public route took once it knew its team (``hold_team``), given back at the end
TEAM_HELD = web.RequestKey("team_held", contextlib.AbstractAsyncContextManager)


async def body_in_time(request: web.Request) -> None:
    """The request's body read (and kept for the handler) within ``BODY_SECONDS``, else
    ``408`` and the connection closed: a client that sends a head and then trickles its
    body, or never sends it, holds nothing for longer."""
    if not request.body_exists:
        return
    try:
        async with asyncio.timeout(BODY_SECONDS):
            await request.read()
    except TimeoutError:
        raise web.HTTPRequestTimeout() from None  # and the connection closed


async def hold_team(request: web.Request, team_id: int) -> None:
    """One of the team's slots from here to the end of the request, for a public route
    that finds its team itself (the web app's pages, from the session cookie); the
    auth middleware gives it back."""
    held = request.app[TEAM_REQUESTS].hold(team_id)
    await held.__aenter__()
    request[TEAM_HELD] = held
