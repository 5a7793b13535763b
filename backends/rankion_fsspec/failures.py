"""Turning storage exceptions into Rankion's errors, in one place.

Callers of a blob store must never see a raw ``botocore`` or ``aiohttp`` error: a
missing object becomes ``NotFound("blob")`` where reading, and anything else the
storage throws becomes ``Unavailable`` (HTTP 503). The message names only the kind
of failure; the original stays chained as ``__cause__`` for the logs, so endpoint
URLs and bucket names do not leak into API responses.

Errors raised by the *caller's* chunk iterator in ``put_stream`` (a client that
hung up, a size limit) are not storage failures: they travel wrapped in
``SourceFailed`` through the backend (which cleans up) and come out unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager

from rankion_core.errors import NotFound, RankionError, Unavailable

__all__ = ["SourceFailed", "guard_source", "translate"]

ErrorTypes = tuple[type[BaseException], ...]


class SourceFailed(Exception):
    """The caller's chunk iterator raised ``original``; not the storage's fault."""

    def __init__(self, original: Exception) -> None:
        super().__init__(str(original))
        self.original = original


async def guard_source(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """Re-yield ``chunks``, wrapping whatever they raise in ``SourceFailed``."""
    iterator = aiter(chunks)
    while True:
        try:
            chunk = await anext(iterator)
        except StopAsyncIteration:
            return
        except Exception as exc:
            raise SourceFailed(exc) from exc
        yield chunk


@contextmanager
def translate(transient: ErrorTypes, *, reading: bool) -> Iterator[None]:
    """Map what the block raises: ``NotFound`` for a missing blob when ``reading``,
    ``Unavailable`` for any storage failure (``OSError`` or one of ``transient``)."""
    storage_errors: ErrorTypes = (OSError, *transient)
    source_error: Exception | None = None
    try:
        yield
    except RankionError:
        raise
    except SourceFailed as exc:
        source_error = exc.original
    except FileNotFoundError as exc:
        if reading:
            raise NotFound("blob") from None
        raise Unavailable("blob storage failed: a folder or bucket is missing") from exc
    except storage_errors as exc:
        raise Unavailable(f"blob storage is unavailable ({type(exc).__name__})") from exc
    if source_error is not None:
        # Raised outside the handler so its own __context__/__cause__ stay as they were.
        raise source_error
