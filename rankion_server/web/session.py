"""Browser sessions: a sealed cookie naming a token, and each session's CSRF token.

The cookie holds ``{token_id}.{issued}.{seal}``: the seal is an HMAC, under a key
derived from the server secret, of the token's id, the token's stored digest and the
time of sign-in. The token itself is never in the cookie and nothing new is stored:
each use looks the token up (through the token cache, as a bearer token is), so
revoking or expiring the token ends every session made from it. A session also ends
``SESSION_MAX_AGE`` after sign-in.

Writes made with the cookie carry the session's CSRF token: the ``X-CSRF-Token``
header for the JSON API, the ``csrf`` field for the app's own forms. The CSRF token is
an HMAC of the cookie, so it is worth nothing without it and changes with each sign-in.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

from aiohttp import web

from rankion_core import Actor, Rankion
from rankion_core.services.accounts import digest

from ..auth import TokenCache
from ..errors import CsrfRefused, Unauthorized, one_header

SESSION_COOKIE = "rankion_session"
#: the app's key of seals and CSRF tokens (``session_key`` of the server secret)
SESSION_KEY = web.AppKey("session_key", bytes)
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
#: a session ends this long after sign-in (seconds)
SESSION_MAX_AGE = 12 * 3600
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ENDED = "the session has ended: sign in again"


def session_key(secret: bytes) -> bytes:
    """The key of seals and CSRF tokens: never the key that signs blob URLs."""
    return hmac.new(secret, b"rankion web session", hashlib.sha256).digest()


def _mac(key: bytes, *parts: str) -> str:
    raw = hmac.new(key, "\n".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def seal(key: bytes, token_id: int, token_digest: str, issued: int) -> str:
    mac = _mac(key, "session", str(token_id), token_digest, str(issued))
    return f"{token_id}.{issued}.{mac}"


def cookie_for(key: bytes, token_id: int, secret_token: str, now: datetime) -> str:
    """The cookie value of a sign-in with ``secret_token`` (whose id is ``token_id``)."""
    return seal(key, token_id, digest(secret_token), int(now.timestamp()))


def _parts(value: str) -> tuple[int, int] | None:
    head = value.split(".")
    if len(value) > 200 or len(head) != 3 or not all(p.isascii() and p.isdigit() for p in head[:2]):
        return None
    return int(head[0]), int(head[1])


def csrf_token(key: bytes, cookie: str) -> str:
    return _mac(key, "csrf", cookie)


def check_csrf(key: bytes, cookie: str, given: str | None) -> None:
    if not given or not hmac.compare_digest(given.encode(), csrf_token(key, cookie).encode()):
        raise CsrfRefused("the form is stale or did not come from this app: reload and retry")


async def session_actor(request: web.Request, app: Rankion, key: bytes, cache: TokenCache) -> Actor:
    """The caller behind the session cookie, or ``Unauthorized``; a repeated ``Cookie``
    header is ``400``, as a repeated ``Authorization`` is (which one is meant is not
    ours to guess)."""
    one_header(request, "Cookie")
    value = request.cookies.get(SESSION_COOKIE, "")
    parts = _parts(value)
    now = app.deps.clock.now()
    if parts is None:
        raise Unauthorized(ENDED)
    token_id, issued = parts
    age = now.timestamp() - issued
    if not -60 <= age <= SESSION_MAX_AGE:
        raise Unauthorized(ENDED)
    remembered = cache.get(value, now)
    if remembered is not None:
        return remembered
    token = await app.accounts.live_token(token_id)
    if token is None or not hmac.compare_digest(seal(key, token.id, token.digest, issued), value):
        raise Unauthorized(ENDED)
    who = Actor(
        team_id=token.team_id,
        user_id=token.user_id,
        token_id=token.id,
        expires_at=token.expires_at,
    )
    cache.put(value, who)
    return who


async def api_session(request: web.Request, app: Rankion, key: bytes, cache: TokenCache) -> Actor:
    """A ``/v1`` call made with the cookie: the caller, and CSRF on every write."""
    who = await session_actor(request, app, key, cache)
    if request.method not in SAFE_METHODS:
        check_csrf(key, request.cookies[SESSION_COOKIE], one_header(request, CSRF_HEADER))
    return who
