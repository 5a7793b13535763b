"""The job lifecycle, one INFO line per step on the ``rankion.jobs`` logger.

``event=job_queued job=12 kind=generate team=4 image=33`` — then ``job_started``
(``attempt=1/3``), ``job_retried`` (``reason``, ``retry_in`` seconds), ``job_succeeded``
(``seconds``), ``job_failed`` (``reason``) and ``job_refunded`` (``credits``); and, as a
WARNING, ``deliveries_dropped`` when a team's waiting webhook deliveries are at their
cap (``team``, ``webhook_event``, ``deliveries``, ``waiting``, ``limit``). Every
line names the job, its kind and its team, and what the job is about: the image of a
generation or edit, the webhook and event of a delivery (an export's id is its job's).
The fields ride along for the JSON log format too.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from ..logfmt import kv
from ..models import Job

log = logging.getLogger("rankion.jobs")


def about(job: Job) -> dict[str, object]:
    """The job's identity: id, kind, team, and the image or webhook it serves."""
    fields: dict[str, object] = {"job": job.id, "kind": job.kind.value, "team": job.team_id}
    payload = job.payload
    for key, name in (("image_id", "image"), ("webhook_id", "webhook"), ("event", "webhook_event")):
        if payload.get(key) is not None:
            fields[name] = payload[key]
    return fields


def record(step: str, job: Job, **more: object) -> None:
    """One lifecycle line: ``step`` is queued, started, retried, succeeded, failed or
    refunded."""
    if not log.isEnabledFor(logging.INFO):
        return
    fields = {"event": f"job_{step}", **about(job), **more}
    log.info(kv(**fields), extra={"fields": fields})


def queued(job: Job) -> None:
    record("queued", job)


def started(job: Job) -> None:
    record("started", job, attempt=f"{job.attempts}/{job.max_attempts}")


def retried(job: Job, reason: str, delay: timedelta) -> None:
    record(
        "retried",
        job,
        attempt=f"{job.attempts}/{job.max_attempts}",
        reason=reason,
        retry_in=round(delay.total_seconds(), 1),
    )


def succeeded(job: Job, seconds: float) -> None:
    record(
        "succeeded", job, attempt=f"{job.attempts}/{job.max_attempts}", seconds=round(seconds, 3)
    )


def failed(job: Job, reason: str) -> None:
    record("failed", job, attempt=f"{job.attempts}/{job.max_attempts}", reason=reason)


def refunded(job: Job, amount: int) -> None:
    record("refunded", job, credits=amount)


def dropped(team_id: int, event: str, deliveries: int, waiting: int, limit: int) -> None:
    """``deliveries`` of an event not queued: the team already has ``waiting`` (WARNING)."""
    fields: dict[str, object] = {"event": "deliveries_dropped", "team": team_id}
    fields |= {"webhook_event": event, "deliveries": deliveries, "waiting": waiting}
    fields["limit"] = limit
    log.warning(kv(**fields), extra={"fields": fields})
