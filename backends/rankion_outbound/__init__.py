"""Outbound HTTP that cannot be turned against the network the server runs in.

The policy is ``rankion_core.outbound``; this package applies it where aiohttp works:

* ``check_url`` judges the URL as written *and* the host exactly as aiohttp will use
  it (yarl normalises it: IDNA UTS 46, NFKC, so fullwidth digits are ASCII digits),
  and returns that parsed URL so the request goes to what was checked.
* ``GuardedConnector`` checks every address a connection is made to: each resolver
  answer, and IP-literal hosts too, which aiohttp connects to without a resolver. A
  DNS answer cannot change between the check and the connect: the connection goes
  to the addresses that were checked.
* ``guarded_session`` puts them together: no proxy from the environment, and the
  callers never let aiohttp follow a redirect (each hop is checked again, or not
  followed at all).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import yarl
from aiohttp.abc import AbstractResolver, ResolveResult

from rankion_core.outbound import HTTP_SCHEMES, address_problem, host_problem, url_problem

if TYPE_CHECKING:
    from aiohttp.tracing import Trace

__all__ = ["GuardedConnector", "TargetRefused", "check_url", "guarded_session"]


class TargetRefused(aiohttp.ClientConnectionError):
    """A URL or an address the guard refuses; ``problem`` completes "the URL …"."""

    def __init__(self, problem: str) -> None:
        super().__init__(f"the URL {problem}")
        self.problem = problem


def check_url(
    url: str,
    *,
    allow_private: bool,
    schemes: Collection[str] = HTTP_SCHEMES,
    allow_ip: bool = True,
) -> yarl.URL:
    """``url`` parsed as aiohttp parses it, once it passes the policy both as written
    and as normalised; ``TargetRefused`` otherwise. Never resolves DNS."""
    options: dict[str, Any] = {"allow_private": allow_private, "allow_ip": allow_ip}
    problem = url_problem(url, schemes=schemes, **options)
    if problem is not None:
        raise TargetRefused(problem)
    try:
        parsed = yarl.URL(url)
        host = parsed.host
    except (ValueError, UnicodeError):
        raise TargetRefused("cannot be parsed") from None
    if parsed.user is not None or parsed.password is not None:
        raise TargetRefused("must not carry credentials")
    problem = host_problem(host, **options)
    if problem is not None:
        raise TargetRefused(problem)
    return parsed


class GuardedConnector(aiohttp.TCPConnector):
    """A TCP connector that refuses to connect to any address that is not public
    (unless ``allow_private``), whether it came from DNS or was written in the URL."""

    def __init__(self, *, allow_private: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.allow_private = allow_private

    async def _resolve_host(
        self, host: str, port: int, traces: Sequence[Trace] | None = None
    ) -> list[ResolveResult]:
        answers = await super()._resolve_host(host, port, traces=traces)
        if not answers:
            raise TargetRefused("has a host that does not resolve")
        if not self.allow_private:
            for answer in answers:
                problem = address_problem(answer["host"])
                if problem is not None:
                    raise TargetRefused(problem)
        return answers


def guarded_session(
    *,
    allow_private: bool,
    timeout: float,
    limit: int = 100,
    resolver: AbstractResolver | None = None,
) -> aiohttp.ClientSession:
    """A client session whose every connection passes ``GuardedConnector``."""
    connector = GuardedConnector(allow_private=allow_private, resolver=resolver, limit=limit)
    return aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=timeout), trust_env=False
    )
