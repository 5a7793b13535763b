"""Rankion from synchronous code (Django and Flask views, scripts): ``SyncRankion``.

The services are coroutines, and the backends under them hold what belongs to the
event loop that opened it: a SQLAlchemy connection pool, aiosqlite's connection
threads, an aiohttp session. So a sync app gets one event loop for the life of the
process, run by a daemon thread of its own; every call is handed to that loop
(``asyncio.run_coroutine_threadsafe``) and the calling thread waits for the result.
Many request threads may call at once: their calls run side by side on the one loop,
over the one connection pool, and a worker pool can run its job loops there too.

Why not ``asgiref.sync.async_to_sync`` around each call: from a thread with no running
loop it runs every call on a new event loop, so a pooled connection opened by one call
belongs to a loop that is gone when the next call takes it ("attached to a different
loop"), and nothing stays running between calls to work the job queue.

A thread that runs an event loop itself must ``await`` the services instead: ``call``
refuses to block a running loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from types import TracebackType
from typing import Any, ParamSpec, Protocol, TypeVar

from .services import Rankion

__all__ = ["SyncRankion", "Workers"]

T = TypeVar("T")
P = ParamSpec("P")


class Workers(Protocol):
    """What runs jobs beside the calls (a ``WorkerPool``): started on the facade's loop
    once the ``Rankion`` is built, stopped before it closes."""

    def start(self, app: Rankion) -> None: ...
    async def stop(self) -> None: ...


class SyncRankion:
    """One event loop in a daemon thread, running ``rankion`` (or what ``build`` returns,
    built on that loop) and ``workers`` when given; ``call`` runs a service method there
    from any thread and returns its result, raising what it raised.

    The facade owns what it runs: ``close()`` (or leaving the ``with`` block) stops the
    workers, waits up to ``grace`` seconds for calls in flight, closes the ports (their
    connections belong to its loop) and joins the thread. ``timeout``, when set, bounds
    each call: one still running then is cancelled and raises ``TimeoutError``.
    """

    def __init__(
        self,
        rankion: Rankion | Callable[[], Awaitable[Rankion]],
        *,
        workers: Workers | None = None,
        timeout: float | None = None,
        grace: float = 10.0,
        name: str = "rankion-loop",
    ) -> None:
        self.timeout = timeout
        self.grace = grace
        self._workers = workers
        self._lock = threading.Lock()
        self._closed = False
        self._in_flight: set[concurrent.futures.Future[Any]] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        try:
            self.rankion: Rankion = self._submit(self._open(rankion)).result()
        except BaseException:
            self._stop_loop()
            raise

    # ------------------------------------------------------------------ calls

    def call(self, method: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``await method(*args, **kwargs)`` on the facade's loop; its result or error."""
        self._refuse_running_loop()

        async def run() -> T:
            return await method(*args, **kwargs)

        with self._lock:
            if self._closed:
                raise RuntimeError("this SyncRankion is closed")
            future = self._submit(run())
            self._in_flight.add(future)
        future.add_done_callback(self._forget)
        try:
            return future.result(self.timeout)
        except BaseException:  # a timeout, or the caller interrupted: stop the work too
            future.cancel()
            raise

    def iterate(self, items: AsyncIterator[T]) -> Iterator[T]:
        """``items`` as a plain iterator, each item read on the facade's loop (a blob's
        ``chunks()`` for a streaming response). Closing it early closes ``items``."""
        try:
            while got := self.call(_next, items):
                yield got[0]
        finally:
            aclose = getattr(items, "aclose", None)
            if aclose is not None and not self._closed:
                self.call(aclose)

    # ------------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Stop the workers, let calls in flight end (up to ``grace`` s), close the
        ports and the loop, and join the thread. Idempotent."""
        self._refuse_own_thread()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            in_flight = list(self._in_flight)
        try:
            concurrent.futures.wait(in_flight, timeout=self.grace)
            self._submit(self._shut()).result()
        finally:
            self._stop_loop()

    def __enter__(self) -> SyncRankion:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def thread(self) -> threading.Thread:
        """The thread running the loop (alive until ``close`` returns)."""
        return self._thread

    # ------------------------------------------------------------------ inside

    async def _open(self, given: Rankion | Callable[[], Awaitable[Rankion]]) -> Rankion:
        rankion = given if isinstance(given, Rankion) else await given()
        if self._workers is not None:
            self._workers.start(rankion)
        return rankion

    async def _shut(self) -> None:
        try:
            if self._workers is not None:
                await self._workers.stop()
        finally:
            await self.rankion.close()

    def _forget(self, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            self._in_flight.discard(future)

    def _submit(self, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.run_until_complete(self._cancel_rest())
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.run_until_complete(self._loop.shutdown_default_executor())
            self._loop.close()

    async def _cancel_rest(self) -> None:
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()

    def _refuse_running_loop(self) -> None:
        self._refuse_own_thread()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        raise RuntimeError("SyncRankion.call would block a running event loop: await instead")

    def _refuse_own_thread(self) -> None:
        if threading.current_thread() is self._thread:
            raise RuntimeError("SyncRankion called from its own loop: await instead")


async def _next(items: AsyncIterator[T]) -> list[T]:
    """The next item, alone in a list; an empty list at the end."""
    try:
        return [await anext(items)]
    except StopAsyncIteration:
        return []
