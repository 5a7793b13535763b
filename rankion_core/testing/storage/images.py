"""The image repository: CRUD, every list filter and sort, the trash, trees, purge."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any

from rankion_core.models import (
    ChatSession,
    Image,
    ImageSort,
    ProcessingStatus,
    Share,
)
from rankion_core.ports import ImageQuery, Storage, no_transaction
from rankion_core.testing.builders import T0, add_images, at, image, make_project, two_teams
from rankion_core.testing.storage.fixture import StorageFixtures


def ids(items: Sequence[Any]) -> list[int]:
    return [item.id for item in items]


async def listed(storage: Storage, team_id: int, **query: Any) -> tuple[list[int], int]:
    async with storage.unit_of_work() as uow:
        items, total = await uow.images.list(ImageQuery(team_id=team_id, **query))
    return ids(items), total


async def _root_and_kids(storage: Storage, team: int) -> tuple[Image, list[Image]]:
    """A root and two variants of it, the second in the trash."""
    (root,) = await add_images(storage, image(team))
    kids = await add_images(
        storage,
        image(team, parent_id=root.id, root_id=root.id),
        image(team, parent_id=root.id, root_id=root.id, deleted_at=at(1)),
    )
    return root, kids


async def retitled_racing(
    storage: Storage, team_id: int, image_id: int, title: str, other: Coroutine[Any, Any, None]
) -> bool:
    """Read the image outside any lock (``no_transaction``), let ``other`` run (done
    before the write where units of work overlap; after it where they run one at a
    time), then give it ``title`` by ``update(unlocked=True)``: whether it was written,
    which is whether ``other`` waited."""
    async with storage.unit_of_work() as uow:
        no_transaction(uow)
        mine = await uow.images.get(team_id, image_id)
        assert mine is not None
        running = asyncio.create_task(other)
        await asyncio.sleep(0.2)
        overlapped = running.done()
        mine.title = title
        written = await uow.images.update(mine, tags=False, unlocked=True)
        await uow.commit()
    await asyncio.wait_for(running, 10)
    assert written is not overlapped
    return written


async def get(storage: Storage, team_id: int, image_id: int) -> Image | None:
    async with storage.unit_of_work() as uow:
        return await uow.images.get(team_id, image_id)


class ImagesContract(StorageFixtures):
    """Images: the gallery repository."""

    # ------------------------------------------------------------------ add / get / update

    async def test_add_assigns_ids_and_get_round_trips_every_field(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        first, second = await add_images(
            storage,
            image(team),
            image(
                team,
                title="Dusk",
                tags=["Sea", "sci-fi"],
                is_favorite=True,
                processing_status=ProcessingStatus.READY,
                blob_key="images/a.png",
                thumbnail_key="thumbnails/a.webp",
                width=1024,
                height=768,
                mime_type="image/png",
                bytes=12345,
                parent_id=7,
                root_id=7,
                edit_session_id=3,
                credits_charged=5,
                share_views=2,
                edited_at=at(5),
                deleted_at=at(6),
                purge_at=at(days=30),
                background="transparent",
                output_format="webp",
                slot="hero",
                article_id=9,
                error="none",
            ),
        )
        assert first.id > 0
        assert second.id > first.id
        loaded = await get(storage, team, second.id)
        assert loaded is not None
        for name in (
            "team_id", "prompt", "model", "size", "quality", "created_at", "updated_at",
            "title", "tags", "is_favorite", "processing_status", "blob_key", "thumbnail_key",
            "width", "height", "mime_type", "bytes", "parent_id", "root_id", "edit_session_id",
            "credits_charged", "share_views", "edited_at", "deleted_at", "purge_at",
            "background", "output_format", "slot", "article_id", "error", "project_id",
        ):  # fmt: skip
            assert getattr(loaded, name) == getattr(second, name), name
        assert loaded.processing_status is ProcessingStatus.READY
        assert loaded.created_at.tzinfo is not None
        assert loaded.created_at.utcoffset() == T0.utcoffset()

    async def test_another_teams_image_is_none(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        (mine,) = await add_images(storage, image(team))
        assert await get(storage, other, mine.id) is None
        assert await get(storage, team, mine.id + 1000) is None
        async with storage.unit_of_work() as uow:
            assert await uow.images.get_many(other, [mine.id]) == []

    async def test_ids_up_to_64_bits_are_missing_or_stored_never_an_error(
        self, storage: Storage
    ) -> None:
        """The API takes ids up to 2^63 - 1: a storage answers a large one like any
        missing id, and keeps a large external article id as it is."""
        team, _ = await two_teams(storage)
        big = (2**31, 2**63 - 1)
        (img,) = await add_images(storage, image(team, article_id=2**63 - 1))
        loaded = await get(storage, team, img.id)
        assert loaded is not None
        assert loaded.article_id == 2**63 - 1
        for large in big:
            assert await get(storage, team, large) is None
        async with storage.unit_of_work() as uow:
            assert await uow.images.get_many(team, [img.id, *big]) == [loaded]
            assert await uow.images.toggle_favorite(team, big[0], at(7)) is None
            assert await uow.projects.get(team, big[0]) is None
            assert await uow.events.get(team, big[1]) is None
            assert await uow.jobs.get(team, big[1]) is None
        assert await listed(storage, team, project_id=big[1]) == ([], 0)

    async def test_get_many_returns_the_teams_rows_trashed_too(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        a, b, _ = await add_images(storage, image(team), image(team, deleted_at=at(1)), image(team))
        (theirs,) = await add_images(storage, image(other))
        async with storage.unit_of_work() as uow:
            found = await uow.images.get_many(team, [a.id, b.id, theirs.id, 99999, a.id])
            assert await uow.images.get_many(team, []) == []
        assert sorted(ids(found)) == sorted([a.id, b.id])

    async def test_update_persists_an_image_gotten_in_the_same_unit(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        (img,) = await add_images(storage, image(team, tags=["sea"]))
        async with storage.unit_of_work() as uow:
            loaded = await uow.images.get(team, img.id)
            assert loaded is not None
            loaded.title = "Renamed"
            loaded.tags.append("Storm")
            loaded.processing_status = ProcessingStatus.FAILED
            await uow.images.update(loaded)
            again = await uow.images.get(team, img.id)
            assert again is not None
            assert again.title == "Renamed"
            await uow.commit()
        stored = await get(storage, team, img.id)
        assert stored is not None
        assert (stored.title, stored.tags) == ("Renamed", ["sea", "Storm"])
        assert stored.processing_status is ProcessingStatus.FAILED
        assert (await listed(storage, team, tags=("storm",)))[0] == [img.id]

    async def test_toggle_favorite_flips_the_flag_in_place(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        (img,) = await add_images(storage, image(team, tags=["sea"], title="Kept"))
        async with storage.unit_of_work() as uow:
            flipped = await uow.images.toggle_favorite(team, img.id, at(7))
            assert await uow.images.toggle_favorite(other, img.id, at(7)) is None
            assert await uow.images.toggle_favorite(team, img.id + 1000, at(7)) is None
            await uow.commit()
        assert flipped is True
        stored = await get(storage, team, img.id)
        assert stored is not None
        assert (stored.is_favorite, stored.updated_at) == (True, at(7))
        assert (stored.title, stored.tags) == ("Kept", ["sea"])
        assert (await listed(storage, team, favorite=True))[0] == [img.id]
        async with storage.unit_of_work() as uow:
            back = await uow.images.toggle_favorite(team, img.id, at(8))
            await uow.commit()
        assert back is False

    async def test_update_without_tags_keeps_the_tag_rows(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        (img,) = await add_images(storage, image(team, tags=["sea"]))
        img.title = "Renamed"  # as added: its tags are the stored ones
        async with storage.unit_of_work() as uow:
            await uow.images.update(img, tags=False)
            await uow.commit()
        assert await get(storage, team, img.id) == img
        assert (await listed(storage, team, tags=("sea",)))[0] == [img.id]

    async def test_update_of_the_added_object_itself(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        async with storage.unit_of_work() as uow:
            img = await uow.images.add(image(team, tags=["old"]))
            img.tags = ["new"]
            img.title = "fresh"
            await uow.images.update(img)
            await uow.commit()
        assert (await listed(storage, team, tags=("old",)))[0] == []
        assert (await listed(storage, team, tags=("new",)))[0] == [img.id]
        assert (await listed(storage, team, q="fresh"))[0] == [img.id]

    async def test_a_change_without_update_is_not_stored(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        (img,) = await add_images(storage, image(team, title="kept"))
        async with storage.unit_of_work() as uow:
            loaded = await uow.images.get(team, img.id)
            assert loaded is not None
            loaded.title = "stray"
            await uow.images.list(ImageQuery(team_id=team))
            await uow.commit()
        stored = await get(storage, team, img.id)
        assert stored is not None
        assert stored.title == "kept"

    async def test_leaving_without_commit_rolls_back(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        (img,) = await add_images(storage, image(team, title="before"))
        async with storage.unit_of_work() as uow:
            await uow.images.add(image(team))
            loaded = await uow.images.get(team, img.id)
            assert loaded is not None
            loaded.title = "after"
            await uow.images.update(loaded)
        assert (await listed(storage, team))[0] == [img.id]
        stored = await get(storage, team, img.id)
        assert stored is not None
        assert stored.title == "before"

    async def test_explicit_rollback_discards_the_work_so_far(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        async with storage.unit_of_work() as uow:
            await uow.images.add(image(team, title="gone"))
            await uow.rollback()
            kept = await uow.images.add(image(team, title="kept"))
            await uow.commit()
        assert (await listed(storage, team))[0] == [kept.id]

    async def test_delete_removes_the_row_its_shares_and_chats(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        img, keep = await add_images(storage, image(team, tags=["x"]), image(team))
        async with storage.unit_of_work() as uow:
            share = await uow.shares.add(Share(0, team, img.id, "tok-1", T0))
            chat = await uow.chats.add(ChatSession(0, team, img.id, T0))
            await uow.images.delete(other, img.id)  # another team's: nothing happens
            await uow.commit()
        assert await get(storage, team, img.id) is not None
        async with storage.unit_of_work() as uow:
            await uow.images.delete(team, img.id)
            await uow.commit()
        async with storage.unit_of_work() as uow:
            assert await uow.images.get(team, img.id) is None
            assert await uow.shares.get_by_token("tok-1") is None
            assert await uow.chats.get(team, chat.id) is None
            assert share.id > 0
        assert (await listed(storage, team, tags=("x",))) == ([], 0)
        assert (await listed(storage, team))[0] == [keep.id]

    # ------------------------------------------------------------------ list: filters

    async def test_list_is_the_teams_non_trashed_images(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        a, _, c = await add_images(
            storage, image(team, created_at=at(1)), image(team, deleted_at=at(2)), image(team)
        )
        await add_images(storage, image(other))
        assert await listed(storage, team) == ([a.id, c.id], 2)

    async def test_filter_by_model_status_favorite_and_project(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        project = await make_project(storage, team)
        ready, failed = ProcessingStatus.READY, ProcessingStatus.FAILED
        a, b, c, d = await add_images(
            storage,
            image(team, model="m1", processing_status=ready, is_favorite=True),
            image(team, model="m2", processing_status=failed, project_id=project.id),
            image(team, model="m1", processing_status=failed, is_favorite=True),
            image(team, model="m2", processing_status=ProcessingStatus.QUEUED),
        )
        oldest = ImageSort.OLDEST
        assert await listed(storage, team, model="m1", sort=oldest) == ([a.id, c.id], 2)
        assert await listed(storage, team, model="nope") == ([], 0)
        assert await listed(storage, team, favorite=True, sort=oldest) == ([a.id, c.id], 2)
        assert await listed(storage, team, favorite=False, sort=oldest) == ([b.id, d.id], 2)
        assert await listed(storage, team, project_id=project.id) == ([b.id], 1)
        assert await listed(storage, team, statuses=(failed,), sort=oldest) == ([b.id, c.id], 2)
        both = (ready, ProcessingStatus.QUEUED)
        assert await listed(storage, team, statuses=both, sort=oldest) == ([a.id, d.id], 2)
        assert await listed(storage, team, model="m1", favorite=True, statuses=(failed,)) == (
            [c.id],
            1,
        )
        assert await listed(storage, other, model="m1") == ([], 0)

    async def test_created_range_is_inclusive(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        images = await add_images(storage, *(image(team, created_at=at(m)) for m in range(5)))
        got, total = await listed(
            storage, team, created_from=at(1), created_to=at(3), sort=ImageSort.OLDEST
        )
        assert (got, total) == (ids(images[1:4]), 3)
        assert (await listed(storage, team, created_from=at(4)))[0] == [images[4].id]
        assert (await listed(storage, team, created_to=at(0)))[0] == [images[0].id]
        assert await listed(storage, team, created_from=at(3), created_to=at(2)) == ([], 0)

    async def test_tags_must_all_match_case_insensitively(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        a, b, c, _ = await add_images(
            storage,
            image(team, tags=["Sea", "Storm"]),
            image(team, tags=["sea"]),
            image(team, tags=["STORM", "sea", "night"]),
            image(team, tags=["seaside"]),
        )
        await add_images(storage, image(other, tags=["sea"]))
        oldest = ImageSort.OLDEST
        assert await listed(storage, team, tags=("SEA",), sort=oldest) == ([a.id, b.id, c.id], 3)
        assert await listed(storage, team, tags=("sea", "storm"), sort=oldest) == ([a.id, c.id], 2)
        assert await listed(storage, team, tags=("storm", "night", "Sea")) == ([c.id], 1)
        assert await listed(storage, team, tags=("sea", "sea")) == ([c.id, b.id, a.id], 3)
        assert await listed(storage, team, tags=("se",)) == ([], 0)  # exact, not prefix
        assert await listed(storage, team, tags=("sea", "missing")) == ([], 0)

    async def test_q_matches_word_prefixes_in_title_prompt_and_tags(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        a, b, c, _ = await add_images(
            storage,
            image(team, prompt="A Lighthouse at dusk", title="Coastline"),
            image(team, prompt="red fox_cub in snow", tags=["Winter-Wonder"]),
            image(team, prompt="café au lait", title=None),
            image(team, prompt="the lighthouse keeper's cat", deleted_at=at(1)),
        )
        await add_images(storage, image(other, prompt="lighthouse"))
        oldest = ImageSort.OLDEST
        assert await listed(storage, team, q="light") == ([a.id], 1)
        assert await listed(storage, team, q="LIGHTHOUSE dus") == ([a.id], 1)
        assert await listed(storage, team, q="coast") == ([a.id], 1)
        assert await listed(storage, team, q="house") == ([], 0)  # a prefix, not a substring
        assert await listed(storage, team, q="light snow") == ([], 0)  # every word must match
        assert await listed(storage, team, q="fox_c") == ([b.id], 1)  # "_" is part of a word
        assert await listed(storage, team, q="cub") == ([], 0)
        assert await listed(storage, team, q="wonder win") == ([b.id], 1)  # tags split into words
        assert await listed(storage, team, q="caf") == ([c.id], 1)
        assert await listed(storage, team, q="café") == ([c.id], 1)
        assert await listed(storage, team, q="cafe") == ([], 0)  # accents are kept
        assert await listed(storage, team, q='"light"*  (dusk)') == ([a.id], 1)  # no query syntax
        assert await listed(storage, team, q="!!!", sort=oldest) == ([a.id, b.id, c.id], 3)
        assert await listed(storage, team, q="a", sort=oldest) == ([a.id, c.id], 2)

    async def test_q_follows_an_update(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        (img,) = await add_images(storage, image(team, prompt="old words"))
        async with storage.unit_of_work() as uow:
            loaded = await uow.images.get(team, img.id)
            assert loaded is not None
            loaded.prompt = "brand new"
            loaded.tags = ["Shiny"]
            await uow.images.update(loaded)
            await uow.commit()
        assert await listed(storage, team, q="old") == ([], 0)
        assert await listed(storage, team, q="bran shin") == ([img.id], 1)

    async def test_a_read_for_update_waits_for_the_one_before_and_sees_its_write(
        self, storage: Storage
    ) -> None:
        team, _ = await two_teams(storage)
        (img,) = await add_images(storage, image(team, title="Old", tags=["sea"]))

        async def retag() -> Image:
            async with storage.unit_of_work() as uow:
                theirs = await uow.images.get(team, img.id, for_update=True)
                assert theirs is not None
                theirs.tags = ["storm"]
                await uow.images.update(theirs)
                await uow.commit()
            return theirs

        async with storage.unit_of_work() as uow:
            mine = await uow.images.get(team, img.id, for_update=True)
            assert mine is not None
            other = asyncio.create_task(retag())
            await asyncio.sleep(0.2)  # it reaches its read, and waits there
            assert not other.done()
            mine.title = "Lighthouse"
            await uow.images.update(mine, tags=False)
            await uow.commit()
        retagged = await asyncio.wait_for(other, 10)
        assert (retagged.title, retagged.tags) == ("Lighthouse", ["storm"])
        assert await listed(storage, team, q="lighthouse storm") == ([img.id], 1)
        assert await listed(storage, team, tags=("storm",)) == ([img.id], 1)
        assert await listed(storage, team, tags=("sea",)) == ([], 0)

    async def test_an_update_from_an_older_read_keeps_the_words_of_a_newer_title(
        self, storage: Storage
    ) -> None:
        """A worker finishing an image writes its status from a read made before the
        title changed: the search words stay those of the new title."""
        team, _ = await two_teams(storage)
        (img,) = await add_images(storage, image(team, title="Old"))

        async def rename() -> None:
            async with storage.unit_of_work() as uow:
                theirs = await uow.images.get(team, img.id, for_update=True)
                assert theirs is not None
                theirs.title = "Lighthouse"
                await uow.images.update(theirs, tags=False)
                await uow.commit()

        async with storage.unit_of_work() as uow:
            stale = await uow.images.get(team, img.id)
            assert stale is not None
            renamed = asyncio.create_task(rename())  # done now where units of work overlap
            await asyncio.sleep(0.2)
            stale.processing_status = ProcessingStatus.FAILED
            await uow.images.update(stale, tags=False)
            await uow.commit()
        await asyncio.wait_for(renamed, 10)
        stored = await get(storage, team, img.id)
        assert stored is not None
        assert (stored.title, stored.processing_status) == ("Lighthouse", ProcessingStatus.FAILED)
        assert await listed(storage, team, q="lighthouse") == ([img.id], 1)
        assert await listed(storage, team, q="old") == ([], 0)

    async def test_an_unlocked_title_is_written_only_over_the_tags_it_was_read_with(
        self, storage: Storage
    ) -> None:
        """A title read and changed outside any lock (``no_transaction``): where the
        tags changed since the read, the new words of the title would keep the old
        tags' words, so nothing is written and the answer is False."""
        team, _ = await two_teams(storage)
        (img,) = await add_images(storage, image(team, title="Old", tags=["sea"]))

        async def retag() -> None:
            async with storage.unit_of_work() as uow:
                theirs = await uow.images.get(team, img.id, for_update=True)
                assert theirs is not None
                theirs.tags = ["storm"]
                await uow.images.update(theirs)
                await uow.commit()

        written = await retitled_racing(storage, team, img.id, "Lighthouse", retag())
        stored = await get(storage, team, img.id)
        assert stored is not None
        assert (stored.title, stored.tags) == ("Lighthouse" if written else "Old", ["storm"])
        assert await listed(storage, team, q=f"{stored.title} storm") == ([img.id], 1)
        assert await listed(storage, team, q="sea") == ([], 0)

    async def test_an_unlocked_update_writes_what_changed_and_misses_a_gone_row(
        self, storage: Storage
    ) -> None:
        team, _ = await two_teams(storage)
        kept, gone = await add_images(
            storage, image(team, title="Old", tags=["sea"]), image(team, title="Gone")
        )
        async with storage.unit_of_work() as uow:
            no_transaction(uow)
            mine = await uow.images.get(team, kept.id)
            assert mine is not None
            mine.title, mine.is_favorite = "Lighthouse", True
            assert await uow.images.update(mine, tags=False, unlocked=True)
            await uow.commit()

        async def delete() -> None:
            async with storage.unit_of_work() as uow:
                await uow.images.delete(team, gone.id)
                await uow.commit()

        await retitled_racing(storage, team, gone.id, "Back", delete())
        stored = await get(storage, team, kept.id)
        assert stored is not None
        assert (stored.title, stored.is_favorite) == ("Lighthouse", True)
        assert await listed(storage, team, q="lighthouse sea") == ([kept.id], 1)
        assert await get(storage, team, gone.id) is None

    async def test_filters_combine_with_q_tags_and_paging(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        images = await add_images(
            storage,
            *(
                image(team, prompt=f"sunset {i}", tags=["sky"] if i % 2 else [], created_at=at(i))
                for i in range(7)
            ),
        )
        odd = [img.id for i, img in enumerate(images) if i % 2]
        assert await listed(storage, team, q="sun", tags=("sky",), per_page=2) == (odd[::-1][:2], 3)
        assert await listed(storage, team, q="sun", tags=("sky",), per_page=2, page=2) == (
            odd[::-1][2:],
            3,
        )

    # ------------------------------------------------------------------ list: sorts and pages

    async def test_newest_and_oldest_break_ties_by_id(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        a, b, c, d = await add_images(
            storage,
            image(team, created_at=at(1)),
            image(team, created_at=at(2)),
            image(team, created_at=at(1)),
            image(team, created_at=at(0)),
        )
        assert (await listed(storage, team, sort=ImageSort.NEWEST))[0] == [b.id, c.id, a.id, d.id]
        assert (await listed(storage, team, sort=ImageSort.OLDEST))[0] == [d.id, a.id, c.id, b.id]

    async def test_edited_puts_never_edited_last_and_breaks_ties_by_id(
        self, storage: Storage
    ) -> None:
        team, _ = await two_teams(storage)
        a, b, c, d, e = await add_images(
            storage,
            image(team, edited_at=None),
            image(team, edited_at=at(5)),
            image(team, edited_at=at(9)),
            image(team, edited_at=None),
            image(team, edited_at=at(5)),
        )
        assert (await listed(storage, team, sort=ImageSort.EDITED))[0] == [
            c.id,
            e.id,
            b.id,
            d.id,
            a.id,
        ]

    async def test_paging_edges(self, storage: Storage) -> None:
        team, _ = await two_teams(storage)
        images = await add_images(storage, *(image(team, created_at=at(i)) for i in range(5)))
        newest = ids(images)[::-1]
        assert await listed(storage, team, per_page=1) == (newest[:1], 5)
        assert await listed(storage, team, per_page=1, page=5) == (newest[4:], 5)
        assert await listed(storage, team, per_page=2, page=3) == (newest[4:], 5)
        assert await listed(storage, team, per_page=2, page=4) == ([], 5)  # past the end
        assert await listed(storage, team, per_page=100) == (newest, 5)
        assert await listed(storage, team, per_page=5, page=2) == ([], 5)

    # ------------------------------------------------------------------ trash, trees, purge

    async def test_list_trash_newest_deleted_first_ties_by_id(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        a, b, _, d = await add_images(
            storage,
            image(team, deleted_at=at(3)),
            image(team, deleted_at=at(3)),
            image(team),
            image(team, deleted_at=at(4)),
        )
        await add_images(storage, image(other, deleted_at=at(9)))
        async with storage.unit_of_work() as uow:
            items, total = await uow.images.list_trash(team, 1, 10)
            first, _ = await uow.images.list_trash(team, 1, 2)
            last, _ = await uow.images.list_trash(team, 2, 2)
            past, past_total = await uow.images.list_trash(team, 3, 2)
        assert (ids(items), total) == ([d.id, b.id, a.id], 3)
        assert (ids(first), ids(last)) == ([d.id, b.id], [a.id])
        assert (past, past_total) == ([], 3)

    async def test_tree_is_the_root_and_every_variant_trashed_too(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        root, kids = await _root_and_kids(storage, team)
        (grandkid,) = await add_images(storage, image(team, parent_id=kids[0].id, root_id=root.id))
        _, theirs = await add_images(storage, image(team), image(other, root_id=root.id))
        async with storage.unit_of_work() as uow:
            tree = await uow.images.tree(team, root.id)
            foreign = await uow.images.tree(other, root.id)  # never the other team's rows
            leaf = await uow.images.tree(team, grandkid.id)
        assert sorted(ids(tree)) == sorted([root.id, kids[0].id, kids[1].id, grandkid.id])
        assert ids(leaf) == [grandkid.id]
        assert ids(foreign) == [theirs.id]

    async def test_reads_for_update_give_what_plain_reads_give(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        root, kids = await _root_and_kids(storage, team)
        (theirs,) = await add_images(storage, image(other))
        every = [root.id, *ids(kids), theirs.id, 99999]
        async with storage.unit_of_work() as uow:
            plain = (await uow.images.tree(team, root.id), await uow.images.get_many(team, every))
        async with storage.unit_of_work() as uow:
            locked = (
                await uow.images.tree(team, root.id, for_update=True),
                await uow.images.get_many(team, every, for_update=True),
            )
            assert await uow.images.tree(other, root.id, for_update=True) == []
            # what was read for update is written back as changed
            kid = next(i for i in locked[0] if i.id == kids[0].id)
            kid.title = "Moved"
            await uow.images.update(kid, tags=False)
            await uow.commit()
        assert sorted(ids(locked[0])) == sorted(ids(plain[0])) == [root.id, *ids(kids)]
        assert sorted(ids(locked[1])) == sorted(ids(plain[1])) == [root.id, *ids(kids)]
        stored = await get(storage, team, kids[0].id)
        assert stored is not None and stored.title == "Moved"
        assert await listed(storage, team, q="moved") == ([kids[0].id], 1)

    async def test_set_edited_at_touches_only_the_teams_ids(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        a, b, c = await add_images(storage, image(team), image(team), image(team))
        (theirs,) = await add_images(storage, image(other))
        async with storage.unit_of_work() as uow:
            await uow.images.set_edited_at(team, [a.id, c.id, theirs.id], at(7))
            await uow.images.set_edited_at(team, [], at(8))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            got = {i.id: i.edited_at for i in await uow.images.get_many(team, [a.id, b.id, c.id])}
            foreign = await uow.images.get(other, theirs.id)
        assert got == {a.id: at(7), b.id: None, c.id: at(7)}
        assert foreign is not None
        assert foreign.edited_at is None

    async def test_set_trash_moves_only_the_teams_ids_and_back(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        a, b, c = await add_images(storage, image(team), image(team), image(team))
        (theirs,) = await add_images(storage, image(other))
        async with storage.unit_of_work() as uow:
            await uow.images.set_trash(team, [a.id, c.id, theirs.id, a.id], at(7), at(37), at(7))
            await uow.images.set_trash(team, [], None, None, at(8))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            got = await uow.images.get_many(team, [a.id, b.id, c.id])
            foreign = await uow.images.get(other, theirs.id)
        trash = {i.id: (i.deleted_at, i.purge_at, i.updated_at) for i in got}
        assert trash == {
            a.id: (at(7), at(37), at(7)),
            b.id: (None, None, b.updated_at),
            c.id: (at(7), at(37), at(7)),
        }
        assert foreign is not None
        assert foreign.deleted_at is None
        async with storage.unit_of_work() as uow:
            await uow.images.set_trash(team, [a.id], None, None, at(9))
            await uow.commit()
        async with storage.unit_of_work() as uow:
            back = await uow.images.get(team, a.id)
        assert back is not None
        assert (back.deleted_at, back.purge_at, back.updated_at) == (None, None, at(9))

    async def test_due_for_purge_spans_teams_oldest_first_with_a_limit(
        self, storage: Storage
    ) -> None:
        team, other = await two_teams(storage)

        def trashed(team_id: int, purge: int) -> Image:
            return image(team_id, deleted_at=at(0), purge_at=at(purge))

        late, early, now_due = await add_images(
            storage, trashed(team, 50), trashed(team, 10), trashed(team, 30)
        )
        (theirs,) = await add_images(storage, trashed(other, 20))
        await add_images(storage, image(team), trashed(team, 31))
        async with storage.unit_of_work() as uow:
            due = await uow.images.due_for_purge(at(30), 10)
            first_two = await uow.images.due_for_purge(at(30), 2)
            nothing = await uow.images.due_for_purge(at(9), 10)
        assert ids(due) == [early.id, theirs.id, now_due.id]
        assert ids(first_two) == [early.id, theirs.id]
        assert nothing == []
        assert late.id not in ids(due)

    async def test_blob_keys_lists_every_key_any_row_holds(self, storage: Storage) -> None:
        team, other = await two_teams(storage)
        await add_images(
            storage,
            image(team, blob_key="i/1.png", thumbnail_key="t/1.webp"),
            image(team, blob_key="i/2.png", deleted_at=at(1)),
            image(other, thumbnail_key="t/3.webp"),
            image(team),
        )
        async with storage.unit_of_work() as uow:
            keys = await uow.images.blob_keys()
        assert keys == {"i/1.png", "t/1.webp", "i/2.png", "t/3.webp"}
