"""What a host adds around the core, decided before the services are built.

A ``Hooks`` value wraps the image provider (to time its calls, to limit how many are
in flight), wraps each job handler (to time it) and names callbacks run after a job
is queued (to wake workers of the same process). ``Rankion(deps, hooks=...)`` applies
it once, while it builds its services: nothing is swapped while they run, and the
``Deps`` it was given are left as they are (a new frozen ``Deps`` holds the wrapped
provider).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from attrs import define, evolve

from ..models import Job, JobKind
from ..ports import ImageProvider
from .deps import Deps

__all__ = ["Handler", "Hooks", "JobWrapper", "ProviderWrapper"]

#: A handler does the job's work and ends it itself, fenced: it stores its results and
#: calls ``uow.jobs.finish(job, job.attempts)`` in one transaction, and drops what it
#: wrote when ``finish`` says a newer attempt owns the job. Errors it raises are sorted
#: by the runner: permanent ones fail the job, transient ones retry it.
Handler = Callable[[Job], Awaitable[None]]
ProviderWrapper = Callable[[ImageProvider], ImageProvider]
JobWrapper = Callable[[JobKind, Handler], Handler]


@define(frozen=True)
class Hooks:
    """Wrappers and callbacks, each applied in order (the first wraps innermost)."""

    provider: tuple[ProviderWrapper, ...] = ()
    jobs: tuple[JobWrapper, ...] = ()
    #: called after a job is queued, after the ``Deps``' own ``on_job_queued``
    job_queued: tuple[Callable[[], None], ...] = ()

    def __add__(self, other: Hooks) -> Hooks:
        """These hooks, then ``other``'s around them."""
        return Hooks(
            provider=self.provider + other.provider,
            jobs=self.jobs + other.jobs,
            job_queued=self.job_queued + other.job_queued,
        )

    def apply(self, deps: Deps) -> Deps:
        """A copy of ``deps`` with the provider wrapped and the callbacks added."""
        if not (self.provider or self.job_queued):
            return deps
        provider = deps.provider
        for wrap in self.provider:
            provider = wrap(provider)
        own = (deps.on_job_queued,) if deps.on_job_queued is not None else ()
        return evolve(deps, provider=provider, on_job_queued=_all(own + self.job_queued))

    def wrap_job(self, kind: JobKind, handler: Handler) -> Handler:
        for wrap in self.jobs:
            handler = wrap(kind, handler)
        return handler


def _all(calls: Sequence[Callable[[], None]]) -> Callable[[], None] | None:
    if not calls:
        return None
    if len(calls) == 1:
        return calls[0]

    def every() -> None:
        for call in calls:
            call()

    return every
