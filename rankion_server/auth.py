"""Bearer tokens: parse the header, look the token up, remember good ones briefly.

The cache maps the SHA-256 of a token to its caller for ``ttl`` seconds (an LRU of at
most ``size`` entries). It only remembers successes, so an unknown token costs a
lookup every time, and a token's clear text is never kept.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict

from aiohttp import web

from rankion_core import Actor, Rankion

from .errors import Unauthorized

CACHE_TTL_SECONDS = 30.0
CACHE_SIZE = 4096


class TokenCache:
    def __init__(self, ttl: float = CACHE_TTL_SECONDS, size: int = CACHE_SIZE) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[str, tuple[Actor, float]] = OrderedDict()

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> Actor | None:
        key = self._key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        actor, until = entry
        if until <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return actor

    def put(self, token: str, actor: Actor) -> None:
        if self.ttl <= 0:
            return
        self._entries[self._key(token)] = (actor, time.monotonic() + self.ttl)
        self._entries.move_to_end(self._key(token))
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required: Authorization: Bearer <token>")
    token = token.strip()
    if not (token.isascii() and token.isprintable()):
        raise Unauthorized("the bearer token is not valid")  # as an unknown one: no tell
    return token


async def authenticate(request: web.Request, rankion: Rankion, cache: TokenCache) -> Actor:
    token = bearer_token(request)
    actor = cache.get(token)
    if actor is None:
        actor = await rankion.accounts.authenticate(token)
        if actor is None:
            raise Unauthorized("the bearer token is not valid")
        cache.put(token, actor)
    return actor
