"""A Hypothesis state machine over the whole gallery, on the in-memory backend.

Hypothesis does not run ``async def`` tests, so the machine is synchronous and drives
the async services through its own event loop. After every step the invariants of the
contract are checked against storage.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from rankion_core.errors import Conflict, InsufficientCredits, Invalid, NotFound
from rankion_core.models import Actor, Image, ProcessingStatus
from rankion_core.ports import ImageQuery
from rankion_core.services import EditRequest, GenerateRequest

from .support import World, make_world, new_team

PROMPTS = st.sampled_from(["a lighthouse", "a red fox", "[reject] forbidden", "[flaky] storm"])


class GalleryMachine(RuleBasedStateMachine):
    images = Bundle("images")
    tokens = Bundle("tokens")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.world: World = make_world()
        self.gone: set[int] = set()
        self.created: set[int] = set()
        self.views: dict[int, int] = {}
        self.dead_tokens: set[str] = set()

    def run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.loop.close()

    @initialize(target=images, credits=st.sampled_from([0, 7, 60, 200]), depth=st.integers(1, 3))
    def teams(self, credits: int, depth: int) -> Any:
        self.me: Actor = self.run(new_team(self.world, credits, "me"))
        self.other: Actor = self.run(new_team(self.world, 50, "other"))
        self.foreign = self.run(
            self.world.app.creation.generate(self.other, GenerateRequest(prompt="theirs"))
        ).image_id
        return self.seed_a_tree(depth)

    def seed_a_tree(self, depth: int) -> Any:
        """Start from a small variant tree, so deep sequences are not needed to reach it."""
        self.run(self.app.accounts.grant(self.me.team_id, 5 + 10 * depth * 2))
        made = [self.run(self.app.creation.generate(self.me, GenerateRequest(prompt="seed")))]
        self.run(self.app.run_pending())
        for level in range(depth * 2):
            source = made[level // 2].image_id
            made.append(self.run(self.app.creation.edit(self.me, source, EditRequest(prompt="v"))))
            self.run(self.app.run_pending())
        ids = [q.image_id for q in made]
        self.created.update(ids)
        return multiple(*ids)

    # ------------------------------------------------------------------ helpers

    @property
    def app(self) -> Any:
        return self.world.app

    def balance(self) -> int:
        return int(self.run(self.app.accounts.balance(self.me)))

    def all_rows(self) -> dict[int, Image]:
        async def read() -> dict[int, Image]:
            async with self.world.storage.unit_of_work() as uow:
                rows = await uow.images.get_many(self.me.team_id, sorted(self.created))
            return {i.id: i for i in rows}

        return self.run(read())  # type: ignore[no-any-return]

    def snapshot(self) -> dict[int, tuple[Any, ...]]:
        return {
            i.id: (i.deleted_at, i.purge_at, i.is_favorite, i.parent_id, i.root_id)
            for i in self.all_rows().values()
        }

    # ------------------------------------------------------------------ rules

    @rule(target=images, prompt=PROMPTS, run_now=st.booleans())
    def generate(self, prompt: str, run_now: bool) -> Any:
        before = self.balance()
        try:
            queued = self.run(self.app.creation.generate(self.me, GenerateRequest(prompt=prompt)))
        except InsufficientCredits:
            assert before < 5
            assert self.balance() == before
            return multiple()
        assert before >= 5 and queued.credits_remaining == before - 5
        self.created.add(queued.image_id)
        if run_now:
            self.run(self.app.run_pending())
        return queued.image_id

    @rule()
    def run_jobs(self) -> None:
        self.run(self.app.run_pending())

    @rule(target=images, source=images, prompt=PROMPTS, run_now=st.booleans())
    def edit(self, source: int, prompt: str, run_now: bool) -> Any:
        try:
            queued = self.run(self.app.creation.edit(self.me, source, EditRequest(prompt=prompt)))
        except (NotFound, Conflict, InsufficientCredits):
            return multiple()
        self.created.add(queued.image_id)
        if run_now:
            self.run(self.app.run_pending())
        return queued.image_id

    @rule(image=images)
    def favorite(self, image: int) -> None:
        try:
            self.run(self.app.gallery.toggle_favorite(self.me, image))
        except NotFound:
            assert image in self.gone

    @rule(image=images)
    def trash(self, image: int) -> None:
        try:
            first = self.run(self.app.gallery.delete(self.me, image))
            again = self.run(self.app.gallery.delete(self.me, image))
            assert (first.deleted_at, first.purge_at) == (again.deleted_at, again.purge_at)
            assert first.purge_at - first.deleted_at == timedelta(days=30)
        except NotFound:
            assert image in self.gone

    @rule(image=images)
    def restore(self, image: int) -> None:
        with contextlib.suppress(NotFound, Conflict):
            self.run(self.app.gallery.restore(self.me, image))

    @rule(image=consumes(images), trash_first=st.booleans())
    def forever(self, image: int, trash_first: bool) -> None:
        try:
            if trash_first:
                self.run(self.app.gallery.delete(self.me, image))
            self.run(self.app.gallery.delete_forever(self.me, image))
            self.gone.add(image)
        except Conflict as exc:
            assert exc.code == "not_in_trash"
        except NotFound:
            assert image in self.gone

    @rule(pick=st.integers(min_value=0, max_value=1000))
    def prune_a_parent(self, pick: int) -> None:
        """Delete forever an image that has variants: they must be re-attached."""
        rows = self.all_rows()
        parents = sorted({i.parent_id for i in rows.values() if i.parent_id is not None})
        if not parents:
            return
        image = parents[pick % len(parents)]
        kids = {i.id for i in rows.values() if i.parent_id == image}
        self.run(self.app.gallery.delete(self.me, image))
        self.run(self.app.gallery.delete_forever(self.me, image))
        self.gone.add(image)
        after = self.all_rows()
        assert all(after[k].parent_id == rows[image].parent_id for k in kids)

    @rule(
        days=st.integers(min_value=0, max_value=40), minutes=st.integers(min_value=0, max_value=90)
    )
    def advance_clock(self, days: int, minutes: int) -> None:
        self.world.clock.advance(timedelta(days=days, minutes=minutes))

    @rule()
    def purge(self) -> None:
        now = self.world.clock.now()
        due = {
            i.id for i in self.all_rows().values() if i.purge_at is not None and i.purge_at <= now
        }
        self.run(self.app.gallery.purge())
        left = set(self.all_rows())
        assert not (due & left), "purge left images that were due"
        assert left | due == set(self.all_rows()) | due
        self.gone |= due
        assert left == self.created - self.gone, "purge removed images that were not due"

    @rule(
        picks=st.lists(st.sampled_from([1, 2, 3, 4, 5, 6, 999]), min_size=1, max_size=8),
        restore=st.booleans(),
    )
    def bulk(self, picks: list[int], restore: bool) -> None:
        ids = [*picks, self.foreign]
        call = self.app.gallery.bulk_restore if restore else self.app.gallery.bulk_delete
        result = self.run(call(self.me, ids))
        assert self.foreign in result.not_found
        assert 999 in result.not_found or 999 not in ids

    @rule(size=st.integers(min_value=201, max_value=260), restore=st.booleans())
    def rejected_bulk(self, size: int, restore: bool) -> None:
        before = self.snapshot()
        call = self.app.gallery.bulk_restore if restore else self.app.gallery.bulk_delete
        try:
            self.run(call(self.me, list(range(1, size + 1))))
            raise AssertionError("a bulk call over the limit was accepted")
        except Invalid as exc:
            assert exc.code == "bulk_limit_exceeded"
        assert self.snapshot() == before

    @rule(target=tokens, image=images, hours=st.none() | st.integers(min_value=1, max_value=72))
    def share(self, image: int, hours: int | None) -> Any:
        expires = self.world.clock.now() + timedelta(hours=hours) if hours else None
        try:
            view, _ = self.run(self.app.shares.share(self.me, image, expires))
        except (NotFound, Conflict):
            return multiple()
        return view.share.token

    @rule(image=images)
    def revoke(self, image: int) -> None:
        try:
            active = self.run(self.app.gallery.get(self.me, image)).share
            self.run(self.app.shares.revoke(self.me, image))
            self.dead_tokens.add(active.share.token)
        except (NotFound, AttributeError):
            pass

    @rule(token=tokens)
    def view(self, token: str) -> None:
        try:
            seen = self.run(self.app.shares.view(token))
        except NotFound:
            return
        assert token not in self.dead_tokens, "a revoked share resolved"
        assert seen.share.expires_at is None or seen.share.expires_at > self.world.clock.now()
        assert seen.image.deleted_at is None

    # ------------------------------------------------------------------ invariants

    @invariant()
    def tree_never_dangles_or_cycles(self) -> None:
        rows = self.all_rows()
        for image in rows.values():
            if image.parent_id is None:
                assert image.root_id is None
                continue
            assert image.parent_id in rows, f"image {image.id} dangles"
            assert image.root_id in rows and rows[image.root_id].parent_id is None
            seen, node = set(), image
            while node.parent_id is not None:
                assert node.id not in seen, "cycle"
                seen.add(node.id)
                node = rows[node.parent_id]
            assert node.id == image.root_id

    @invariant()
    def every_image_is_listed_trashed_or_gone(self) -> None:
        if not hasattr(self, "me"):
            return
        listed = self.run(
            self.app.gallery.list(self.me, ImageQuery(team_id=self.me.team_id, per_page=1000))
        )
        trashed = self.run(self.app.gallery.trash(self.me, 1, 1000))
        ids_listed = {v.image.id for v in listed.items}
        ids_trashed = {v.image.id for v in trashed.items}
        assert not ids_listed & ids_trashed
        assert not (ids_listed | ids_trashed) & self.gone
        assert ids_listed | ids_trashed | self.gone == self.created | self.gone
        assert listed.total == len(ids_listed) and trashed.total == len(ids_trashed)

    @invariant()
    def balance_is_the_ledger_sum_and_never_negative(self) -> None:
        if not hasattr(self, "me"):
            return

        async def sums() -> tuple[int, int]:
            async with self.world.storage.unit_of_work() as uow:
                return await uow.teams.balance(self.me.team_id), await uow.ledger.total(
                    self.me.team_id
                )

        balance, ledger = self.run(sums())
        assert balance == ledger >= 0

    @invariant()
    def view_counts_only_grow(self) -> None:
        for image in self.all_rows().values():
            assert image.share_views >= self.views.get(image.id, 0)
            self.views[image.id] = image.share_views

    @invariant()
    def ready_images_have_blobs_and_failed_ones_were_refunded(self) -> None:
        for image in self.all_rows().values():
            if image.processing_status is ProcessingStatus.READY:
                assert image.blob_key in self.world.blobs.blobs
            if image.processing_status is ProcessingStatus.FAILED:
                assert image.credits_charged == 0 and image.error


GalleryMachine.TestCase.settings = settings(stateful_step_count=40)
TestGallery = GalleryMachine.TestCase
