"""Bearer tokens: parse the header, look the token up, remember good ones briefly.

The cache maps the SHA-256 of a token to its caller for ``ttl`` seconds (an LRU of at
most ``size`` entries), never past the token's ``expires_at``. It only remembers
successes, so an unknown token costs a lookup every time, and a token's clear text is
never kept. ``ttl`` bounds how long a token revoked through another process still
works here (the contract allows 5 s); revoking through this process forgets it at once.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from datetime import datetime

from aiohttp import web

from rankion_core import Actor, Rankion
from rankion_core.rules.tokens import is_expired

from .errors import Unauthorized, one_header

#: how long a good token is trusted without a lookup; revocation reaches every
#: process within this (the contract: 5 s)
CACHE_TTL_SECONDS = 2.0
CACHE_SIZE = 4096


class TokenCache:
    def __init__(self, ttl: float = CACHE_TTL_SECONDS, size: int = CACHE_SIZE) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[str, tuple[Actor, float]] = OrderedDict()

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str, now: datetime) -> Actor | None:
        """The remembered caller, unless the entry is stale or its token has expired."""
        key = self._key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        actor, until = entry
        if until <= time.monotonic() or is_expired(actor.expires_at, now):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return actor

    def put(self, token: str, actor: Actor) -> None:
        """Remember ``actor`` for ``ttl`` seconds (``get`` still honours its expiry)."""
        if self.ttl <= 0:
            return
        key = self._key(token)
        self._entries[key] = (actor, time.monotonic() + self.ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, token_id: int) -> None:
        """Drop every entry of that token (it was revoked)."""
        for key in [k for k, (a, _) in self._entries.items() if a.token_id == token_id]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()


def bearer_token(request: web.Request) -> str:
    header = one_header(request, "Authorization") or ""
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required: Authorization: Bearer <token>")
    token = token.strip()
    if not (token.isascii() and token.isprintable()):
        raise Unauthorized("the bearer token is not valid")  # as an unknown one: no tell
    return token


async def authenticate(
    request: web.Request, rankion: Rankion, cache: TokenCache, session_key: bytes | None = None
) -> Actor:
    """The caller of a bearer token; without one, of the browser session cookie (when
    ``session_key`` is given), CSRF-checked on writes (``web.session``)."""
    if session_key is not None and "Authorization" not in request.headers:
        from .web.session import SESSION_COOKIE, api_session

        if SESSION_COOKIE in request.cookies:
            return await api_session(request, rankion, session_key, cache)
    token = bearer_token(request)
    actor = cache.get(token, rankion.deps.clock.now())
    if actor is None:
        actor = await rankion.accounts.authenticate(token)
        if actor is None:
            raise Unauthorized("the bearer token is not valid")
        cache.put(token, actor)
    return actor
