"""A webhook delivery never stays ``pending`` once its job has ended failed.

The delivery is normally ended by its handler (``Webhooks._record``). When the job
ends outside it — its worker died on the last attempt, so the next claim gives up —
the job's failure ends the delivery too.
"""

from __future__ import annotations

from datetime import timedelta

from rankion_core.models import JobKind, JobStatus
from rankion_core.services.outbox import emit
from rankion_core.webhooks import DeliveryStatus, WebhookEvent

from .support import World, make_world, new_team


async def queued_delivery(world: World) -> int:
    actor = await new_team(world)
    await world.app.webhooks.create(actor, "https://hooks.example.com/x", ["image.ready"])
    async with world.storage.unit_of_work() as uow:
        await emit(world.app.deps, uow, actor.team_id, WebhookEvent.IMAGE_READY, {"id": 1})
        await uow.commit()
    async with world.storage.unit_of_work() as uow:
        job = await uow.jobs.claim("probe", world.clock.now(), world.clock.now(), None)
        assert job is not None and job.kind is JobKind.WEBHOOK
        await uow.jobs.release(job.id, job.attempts, world.clock.now(), "put back")
        await uow.commit()
    return job.id


async def test_a_delivery_whose_worker_died_on_the_last_attempt_ends_failed() -> None:
    world = make_world()
    job_id = await queued_delivery(world)
    lease = timedelta(minutes=1)
    while True:  # every attempt dies with its worker: claimed, never finished
        world.clock.advance(lease * 2)
        now = world.clock.now()
        async with world.storage.unit_of_work() as uow:
            job = await uow.jobs.claim("dies", now, now + lease, [JobKind.WEBHOOK])
            await uow.commit()
        assert job is not None
        if job.attempts > job.max_attempts:
            break
    world.clock.advance(lease * 2)
    assert await world.app.jobs.run_once("restarted", [JobKind.WEBHOOK])
    async with world.storage.unit_of_work() as uow:
        ended = await uow.jobs.get_any(job_id)
        delivery = await uow.webhooks.get_delivery(job_id)
    assert ended is not None and ended.status is JobStatus.FAILED
    assert delivery is not None
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.finished_at == world.clock.now() and delivery.next_attempt_at is None
