"""Users, tokens, edit and chat sessions, shares, exports and idempotency records."""

from __future__ import annotations

import asyncio
from typing import Any

from rankion_core.models import (
    ApiToken,
    ChatSession,
    EditSession,
    Export,
    ExportStatus,
    IdempotencyRecord,
    Share,
    User,
)
from rankion_core.ports import Storage
from rankion_core.testing.builders import T0, add_images, add_jobs, at, image, job, two_teams
from rankion_core.testing.storage.fixture import StorageFixtures

# ------------------------------------------------------------------ idempotency


def record(team_id: int, key: str = "k1", created: float = 0) -> IdempotencyRecord:
    return IdempotencyRecord(team_id, key, "fp-1", at(created))


class AccountsContract(StorageFixtures):
    """Users, tokens, sessions, shares, exports, idempotency."""

    # ------------------------------------------------------------------ users and tokens

    async def test_users_by_id_and_name_within_a_team(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        async with storage.unit_of_work() as uow:
            ann = await uow.users.add(User(0, team, "ann", T0))
            await uow.users.add(User(0, other, "ann", T0))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            by_id = await uow.users.get(team, ann.id)
            by_name = await uow.users.get_by_name(team, "ann")
            assert await uow.users.get(other, ann.id) is None
            assert await uow.users.get_by_name(team, "bob") is None
        assert by_id is not None
        assert by_name is not None
        assert (by_id.name, by_name.id) == ("ann", ann.id)

    async def test_tokens_are_found_by_prefix(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        async with storage.unit_of_work() as uow:
            user = await uow.users.add(User(0, team, "ann", T0))
            first = await uow.tokens.add(ApiToken(0, team, user.id, "rk_ab12", "digest-1", T0))
            second = await uow.tokens.add(ApiToken(0, team, user.id, "rk_ab12", "digest-2", T0))
            await uow.tokens.add(ApiToken(0, team, user.id, "rk_zz99", "digest-3", T0))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            found = await uow.tokens.find_by_prefix("rk_ab12")
            assert await uow.tokens.find_by_prefix("rk_ab1") == []
        assert sorted(t.id for t in found) == sorted([first.id, second.id])
        assert {t.digest for t in found} == {"digest-1", "digest-2"}
        assert all(t.user_id == user.id and t.team_id == team for t in found)

    async def test_token_expiry_and_last_use_are_stored(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        async with storage.unit_of_work() as uow:
            user = await uow.users.add(User(0, team, "ann", T0))
            token = await uow.tokens.add(
                ApiToken(0, team, user.id, "rk_ex01", "d", T0, expires_at=at(days=7))
            )
            await uow.commit()
        async with storage.unit_of_work() as uow:
            await uow.tokens.touch(token.id, at(minutes=5))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            (found,) = await uow.tokens.find_by_prefix("rk_ex01")
            assert await uow.tokens.get(token.id) is not None
        assert (found.expires_at, found.last_used_at) == (at(days=7), at(minutes=5))

    async def test_tokens_list_per_team_and_delete_within_the_team(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        async with storage.unit_of_work() as uow:
            ann = await uow.users.add(User(0, team, "ann", T0))
            eve = await uow.users.add(User(0, other, "eve", T0))
            mine = [
                await uow.tokens.add(ApiToken(0, team, ann.id, f"rk_m{i}", "d", T0))
                for i in range(3)
            ]
            theirs = await uow.tokens.add(ApiToken(0, other, eve.id, "rk_t0", "d", T0))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            first, total = await uow.tokens.list(team, 1, 2)
            second, _ = await uow.tokens.list(team, 2, 2)
            assert not await uow.tokens.delete(team, theirs.id)  # another team's: untouched
            assert await uow.tokens.delete(team, mine[0].id)
            assert not await uow.tokens.delete(team, mine[0].id)
            await uow.commit()
        assert total == 3
        assert [t.id for t in first + second] == [t.id for t in mine]
        async with storage.unit_of_work() as uow:
            assert await uow.tokens.get(mine[0].id) is None
            assert await uow.tokens.find_by_prefix("rk_m0") == []
            assert await uow.tokens.get(theirs.id) is not None
            left, total = await uow.tokens.list(team, 1, 10)
        assert (total, [t.id for t in left]) == (2, [mine[1].id, mine[2].id])

    # ------------------------------------------------------------------ sessions

    async def test_edit_and_chat_sessions_are_team_scoped(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        (img,) = await add_images(storage, image(team))
        async with storage.unit_of_work() as uow:
            user = await uow.users.add(User(0, team, "ann", T0))
            edit = await uow.edit_sessions.add(EditSession(0, team, img.id, at(1)))
            chat = await uow.chats.add(ChatSession(0, team, img.id, at(2), user_id=user.id))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            got_edit = await uow.edit_sessions.get(team, edit.id)
            got_chat = await uow.chats.get(team, chat.id)
            assert await uow.edit_sessions.get(other, edit.id) is None
            assert await uow.chats.get(other, chat.id) is None
        assert got_edit is not None
        assert got_chat is not None
        assert (got_edit.root_id, got_edit.created_at) == (img.id, at(1))
        assert (got_chat.gallery_image_id, got_chat.user_id) == (img.id, user.id)

    # ------------------------------------------------------------------ shares

    async def test_the_active_share_is_neither_revoked_nor_expired(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        a, b, c, d = await add_images(storage, image(team), image(team), image(team), image(team))
        async with storage.unit_of_work() as uow:
            await uow.shares.add(Share(0, team, a.id, "revoked", T0, revoked_at=at(1)))
            live = await uow.shares.add(Share(0, team, a.id, "live", T0, expires_at=at(60)))
            await uow.shares.add(Share(0, team, b.id, "expired", T0, expires_at=at(10)))
            forever = await uow.shares.add(Share(0, team, c.id, "forever", T0))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            got = await uow.shares.active_for_image(team, a.id, at(59))
            assert await uow.shares.active_for_image(team, a.id, at(60)) is None  # expires_at > now
            assert await uow.shares.active_for_image(team, b.id, at(10)) is None
            assert await uow.shares.active_for_image(other, a.id, at(0)) is None
            many = await uow.shares.active_for_images(team, [a.id, b.id, c.id, d.id], at(30))
            assert await uow.shares.active_for_images(team, [], at(0)) == {}
            assert await uow.shares.active_for_images(other, [a.id, c.id], at(0)) == {}
        assert got is not None
        assert got.id == live.id
        assert {k: v.id for k, v in many.items()} == {a.id: live.id, c.id: forever.id}

    async def test_an_image_is_shown_with_its_active_share(self, storage: Storage) -> None:
        """``get_shown``: the image as ``get`` reads it, with the share
        ``active_for_image`` finds (the newest active one), locked or not."""
        team, other = await two_teams(storage)
        a, b, c = await add_images(storage, image(team), image(team), image(team))
        (theirs,) = await add_images(storage, image(other))
        async with storage.unit_of_work() as uow:
            await uow.shares.add(Share(0, team, a.id, "revoked", T0, revoked_at=at(1)))
            old = await uow.shares.add(Share(0, team, a.id, "old", T0))
            live = await uow.shares.add(Share(0, team, a.id, "live", T0, expires_at=at(60)))
            await uow.shares.add(Share(0, team, b.id, "expired", T0, expires_at=at(10)))
            await uow.shares.add(Share(0, other, theirs.id, "theirs", T0))
            await uow.commit()
        for lock in (False, True):
            async with storage.unit_of_work() as uow:
                shown_a = await uow.images.get_shown(team, a.id, at(30), for_update=lock)
                later_a = await uow.images.get_shown(team, a.id, at(60), for_update=lock)
                shown_b = await uow.images.get_shown(team, b.id, at(10), for_update=lock)
                shown_c = await uow.images.get_shown(team, c.id, at(0), for_update=lock)
                assert await uow.images.get_shown(other, a.id, at(0), for_update=lock) is None
                assert await uow.images.get_shown(team, theirs.id, at(0), for_update=lock) is None
                assert await uow.images.get_shown(team, 10**9, at(0), for_update=lock) is None
                stored_a = await uow.images.get(team, a.id)
            assert shown_a is not None and later_a is not None
            assert shown_b is not None and shown_c is not None
            assert shown_a[0] == stored_a
            assert shown_a[1] is not None and shown_a[1].id == live.id
            assert shown_a[1] == await _active(storage, team, a.id, at(30))
            assert later_a[1] is not None and later_a[1].id == old.id  # ``live`` expired
            assert (shown_b[0].id, shown_b[1]) == (b.id, None)
            assert (shown_c[0].id, shown_c[1]) == (c.id, None)

    async def test_share_by_token_and_update(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        (img,) = await add_images(storage, image(team))
        async with storage.unit_of_work() as uow:
            share = await uow.shares.add(Share(0, team, img.id, "tok", T0))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            found = await uow.shares.get_by_token("tok")
            assert await uow.shares.get_by_token("nope") is None
            assert found is not None
            assert (found.id, found.view_count, found.expires_at) == (share.id, 0, None)
            found.revoked_at = at(3)
            await uow.shares.update(found)
            await uow.commit()
        async with storage.unit_of_work() as uow:
            revoked = await uow.shares.get_by_token("tok")
            assert await uow.shares.active_for_image(team, img.id, at(4)) is None
        assert revoked is not None
        assert revoked.revoked_at == at(3)

    async def test_concurrent_view_batches_all_add_up(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        (img,) = await add_images(storage, image(team, share_views=3))
        async with storage.unit_of_work() as uow:
            share = await uow.shares.add(Share(0, team, img.id, "tok", T0))
            await uow.commit()

        async def add(views: int) -> None:
            async with storage.unit_of_work() as uow:
                await uow.shares.add_views(share.id, img.id, views)
                await asyncio.sleep(0)
                await uow.commit()

        await asyncio.gather(*(add(n) for n in range(1, 21)))
        async with storage.unit_of_work() as uow:
            await uow.shares.add_views(share.id + 100, img.id + 100, 5)  # gone: skipped
            await uow.commit()
        async with storage.unit_of_work() as uow:
            counted = await uow.shares.get_by_token("tok")
            stored = await uow.images.get(team, img.id)
        assert counted is not None
        assert stored is not None
        assert (counted.view_count, stored.share_views) == (210, 213)

    # ------------------------------------------------------------------ exports

    async def test_exports_by_job_id_update_and_expiry(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        first, second, third = await add_jobs(storage, job(team), job(team), job(team))
        async with storage.unit_of_work() as uow:
            await uow.exports.add(Export(first.id, team, [3, 1, 2], ExportStatus.QUEUED, T0))
            await uow.exports.add(
                Export(second.id, team, [4], ExportStatus.READY, T0, blob_key="z", expires_at=at(9))
            )
            await uow.exports.add(
                Export(third.id, team, [5], ExportStatus.READY, T0, expires_at=at(1))
            )
            await uow.commit()
        async with storage.unit_of_work() as uow:
            loaded = await uow.exports.get(team, first.id)
            assert await uow.exports.get(other, first.id) is None
            assert await uow.exports.get_any(first.id) is not None
            assert await uow.exports.get_any(first.id + 100) is None
            assert loaded is not None
            assert (loaded.ids, loaded.skipped_ids, loaded.status) == (
                [3, 1, 2],
                [],
                ExportStatus.QUEUED,
            )
            loaded.status, loaded.done, loaded.total = ExportStatus.READY, 2, 3
            loaded.skipped_ids, loaded.blob_key, loaded.size_bytes = [2], "exports/a.zip", 99
            loaded.expires_at = at(5)
            await uow.exports.update(loaded)
            await uow.commit()
        async with storage.unit_of_work() as uow:
            ready = await uow.exports.get(team, first.id)
            due = await uow.exports.expired(at(5))
            later = await uow.exports.expired(at(9))
        assert ready is not None
        assert (ready.done, ready.total, ready.skipped_ids, ready.size_bytes) == (2, 3, [2], 99)
        assert [e.job_id for e in due] == [first.id]  # `third` has no ZIP left
        assert sorted(e.job_id for e in later) == [first.id, second.id]

    async def test_kept_sums_the_teams_zips_not_yet_expired(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        made = await add_jobs(storage, job(team), job(team), job(team), job(team), job(other))
        ready = ExportStatus.READY

        def export(n: int, **fields: Any) -> Export:
            return Export(
                made[n].id, made[n].team_id, [1], fields.pop("status", ready), T0, **fields
            )

        async with storage.unit_of_work() as uow:
            assert await uow.exports.kept(team, T0) == (0, None)
            await uow.exports.add(export(0, blob_key="a", size_bytes=100, expires_at=at(5)))
            await uow.exports.add(export(1, blob_key="b", size_bytes=20, expires_at=at(9)))
            await uow.exports.add(export(2, size_bytes=7, expires_at=at(9)))  # its ZIP is gone
            await uow.exports.add(export(3, status=ExportStatus.QUEUED))  # not made yet
            await uow.exports.add(export(4, blob_key="e", size_bytes=1000, expires_at=at(9)))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            assert await uow.exports.kept(team, T0) == (120, at(5))
            assert await uow.exports.kept(team, at(5)) == (20, at(9))  # expired at 5
            assert await uow.exports.kept(team, at(9)) == (0, None)
            assert await uow.exports.kept(other, T0) == (1000, at(9))

    async def test_begin_inserts_once_then_returns_the_first(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        async with storage.unit_of_work() as uow:
            assert await uow.idempotency.begin(record(team)) is None
            assert await uow.idempotency.begin(record(other)) is None  # keys are per team
            await uow.commit()
        async with storage.unit_of_work() as uow:
            second = IdempotencyRecord(team, "k1", "fp-2", at(5))
            existing = await uow.idempotency.begin(second)
        assert existing is not None
        assert (existing.fingerprint, existing.completed, existing.created_at) == (
            "fp-1",
            False,
            at(0),
        )
        assert (existing.status, existing.body, existing.headers) == (None, None, {})

    async def test_complete_stores_the_answer(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        first = record(team)
        async with storage.unit_of_work() as uow:
            await uow.idempotency.begin(first)
            first.completed, first.status = True, 202
            first.body, first.headers = b'{"data": {}}\x00\xff', {"Location": "/v1/jobs/1"}
            await uow.idempotency.complete(first)
            await uow.commit()
        async with storage.unit_of_work() as uow:
            done = await uow.idempotency.begin(record(team))
        assert done is not None
        assert (done.completed, done.status) == (True, 202)
        assert (done.body, done.headers) == (b'{"data": {}}\x00\xff', {"Location": "/v1/jobs/1"})

    async def test_forget_and_purge(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        async with storage.unit_of_work() as uow:
            for key, minute in (("old-1", 0), ("old-2", 5), ("new", 10), ("gone", 0)):
                await uow.idempotency.begin(record(team, key, minute))
            await uow.idempotency.forget(team, "gone")
            await uow.idempotency.forget(team, "never-there")
            await uow.commit()
        async with storage.unit_of_work() as uow:
            assert await uow.idempotency.purge(at(10)) == 2  # created before, not at
            assert await uow.idempotency.purge(at(10)) == 0
            await uow.commit()
        async with storage.unit_of_work() as uow:
            assert await uow.idempotency.begin(record(team, "new")) is not None
            assert await uow.idempotency.begin(record(team, "old-1")) is None
            assert await uow.idempotency.begin(record(team, "gone")) is None

    async def test_racing_begins_let_exactly_one_through(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)

        async def begin(n: int) -> IdempotencyRecord | None:
            async with storage.unit_of_work() as uow:
                found = await uow.idempotency.begin(IdempotencyRecord(team, "k", f"fp-{n}", at(n)))
                await asyncio.sleep(0)
                await uow.commit()
            return found

        results = await asyncio.gather(*(begin(n) for n in range(10)))
        assert results.count(None) == 1
        winner = results.index(None)
        assert {r.fingerprint for r in results if r is not None} == {f"fp-{winner}"}


async def _active(storage: Storage, team_id: int, image_id: int, now: Any) -> Share | None:
    async with storage.unit_of_work() as uow:
        return await uow.shares.active_for_image(team_id, image_id, now)
