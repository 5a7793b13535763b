"""The webhook repository: subscriptions, the team scope, deliveries and their attempts."""

from __future__ import annotations

from rankion_core.models import JobKind
from rankion_core.ports import Storage
from rankion_core.testing.builders import T0, add_jobs, at, job, two_teams
from rankion_core.testing.storage.fixture import StorageFixtures
from rankion_core.webhooks import DeliveryStatus, Webhook, WebhookDelivery


def hook(team_id: int, events: list[str] | None = None, **fields: object) -> Webhook:
    values: dict[str, object] = {
        "id": 0,
        "team_id": team_id,
        "url": "https://example.com/hook",
        "events": events or ["image.ready"],
        "secret": "whsec_test",
        "created_at": T0,
    }
    values.update(fields)
    return Webhook(**values)  # type: ignore[arg-type]


async def add_hooks(storage: Storage, *hooks: Webhook) -> list[Webhook]:
    async with storage.unit_of_work() as uow:
        added = [await uow.webhooks.add(h) for h in hooks]
        await uow.commit()
    return added


async def add_delivery(storage: Storage, team_id: int, webhook_id: int) -> WebhookDelivery:
    (added,) = await add_jobs(storage, job(team_id, kind=JobKind.WEBHOOK, payload={}))
    delivery = WebhookDelivery(added.id, team_id, webhook_id, "image.ready", T0)
    async with storage.unit_of_work() as uow:
        await uow.webhooks.add_delivery(delivery)
        await uow.commit()
    return delivery


class WebhooksContract(StorageFixtures):
    """Webhooks and their deliveries."""

    async def test_add_get_list_and_team_scope(self, storage: Storage) -> None:
        a, b = await two_teams(storage)
        first, second, other = await add_hooks(
            storage, hook(a, description="ops"), hook(a), hook(b)
        )
        assert first.id > 0 and second.id > first.id
        async with storage.unit_of_work() as uow:
            got = await uow.webhooks.get(a, first.id)
            assert got is not None
            assert (got.url, got.events, got.secret, got.description) == (
                "https://example.com/hook",
                ["image.ready"],
                "whsec_test",
                "ops",
            )
            assert got.created_at == T0
            assert await uow.webhooks.get(a, other.id) is None
            items, total = await uow.webhooks.list(a, 1, 1)
            assert total == 2 and [h.id for h in items] == [first.id]
            items, _ = await uow.webhooks.list(a, 2, 1)
            assert [h.id for h in items] == [second.id]

    async def test_subscribed_filters_by_team_and_event(self, storage: Storage) -> None:
        a, b = await two_teams(storage)
        ready, both, _ = await add_hooks(
            storage,
            hook(a, ["image.ready"]),
            hook(a, ["export.ready", "image.ready"]),
            hook(b, ["image.ready"]),
        )
        async with storage.unit_of_work() as uow:
            assert [h.id for h in await uow.webhooks.subscribed(a, "image.ready")] == [
                ready.id,
                both.id,
            ]
            assert [h.id for h in await uow.webhooks.subscribed(a, "export.ready")] == [both.id]
            assert await uow.webhooks.subscribed(a, "image.failed") == []

    async def test_deliveries_record_attempts_newest_first(self, storage: Storage) -> None:
        a, b = await two_teams(storage)
        (h,) = await add_hooks(storage, hook(a))
        first = await add_delivery(storage, a, h.id)
        second = await add_delivery(storage, a, h.id)
        async with storage.unit_of_work() as uow:
            stored = await uow.webhooks.get_delivery(first.job_id)
            assert stored is not None and stored.status is DeliveryStatus.PENDING
            stored.attempts.append({"attempt": 1, "status_code": 500, "error": "boom"})
            stored.status, stored.finished_at = DeliveryStatus.FAILED, at(5)
            await uow.webhooks.update_delivery(stored)
            await uow.commit()
        async with storage.unit_of_work() as uow:
            items, total = await uow.webhooks.deliveries(a, h.id, 1, 10)
            assert total == 2 and [d.job_id for d in items] == [second.job_id, first.job_id]
            assert items[1].attempts == [{"attempt": 1, "status_code": 500, "error": "boom"}]
            assert items[1].status is DeliveryStatus.FAILED and items[1].finished_at == at(5)
            assert await uow.webhooks.deliveries(b, h.id, 1, 10) == ([], 0)

    async def test_delete_removes_the_webhook_and_its_deliveries(self, storage: Storage) -> None:
        a, b = await two_teams(storage)
        (h,) = await add_hooks(storage, hook(a))
        delivery = await add_delivery(storage, a, h.id)
        async with storage.unit_of_work() as uow:
            assert not await uow.webhooks.delete(b, h.id)
            assert await uow.webhooks.delete(a, h.id)
            await uow.commit()
        async with storage.unit_of_work() as uow:
            assert await uow.webhooks.get(a, h.id) is None
            assert await uow.webhooks.get_delivery(delivery.job_id) is None
            assert not await uow.webhooks.delete(a, h.id)

    async def test_a_rolled_back_delivery_is_not_stored(self, storage: Storage) -> None:
        a, _ = await two_teams(storage)
        (h,) = await add_hooks(storage, hook(a))
        (added,) = await add_jobs(storage, job(a, kind=JobKind.WEBHOOK, payload={}))
        async with storage.unit_of_work() as uow:
            await uow.webhooks.add_delivery(WebhookDelivery(added.id, a, h.id, "image.ready", T0))
        async with storage.unit_of_work() as uow:
            assert await uow.webhooks.get_delivery(added.id) is None
