"""``storage.reads()`` answers exactly what the unit-of-work path answers.

A backend may serve its reads from a read path of its own (``Storage.reads``): the
gallery's list and detail, compared on every query shape with ``uow.images.list``,
``uow.images.tree`` and ``uow.shares.active_for_images``; a project's events and
per-day counts, the ledger, the trash and look-alikes, compared with
``UnitOfWorkReads`` (the repositories' answers).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import attrs

from rankion_core.models import (
    EventStatus,
    EventType,
    Image,
    ImageSort,
    LedgerEntry,
    ProcessingStatus,
    Share,
)
from rankion_core.ports import DayQuery, EventQuery, ImageQuery, SimilarQuery, Storage
from rankion_core.reads import UnitOfWorkReads
from rankion_core.rules.similar import to_signed
from rankion_core.testing.builders import (
    add_images,
    at,
    event,
    image,
    make_project,
    two_teams,
)
from rankion_core.testing.storage.fixture import StorageFixtures

NOW = at(500)
WORDS = ["harbour", "harbor", "lighthouse", "light", "dusk", "café", "foo_bar", "neon", "x"]
TAGS = ["Sea", "sea", "night", "Blue sky", "ÉTÉ", "night-shot"]
MODELS = ["gpt-image-1", "dall-e-3"]


def _fields(item: Any) -> dict[str, Any]:
    return {f.name: getattr(item, f.name) for f in attrs.fields(type(item))}


async def seed(storage: Storage) -> tuple[int, int, int]:
    """Images of two teams with every field that a filter or an order reads."""
    team, other = await two_teams(storage)
    project = await make_project(storage, team)
    rng = random.Random(7)
    made: list[Image] = []
    for n in range(70):
        words = rng.sample(WORDS, rng.randint(1, 4))
        trashed = rng.random() < 0.15
        made.append(
            image(
                team,
                prompt=" ".join(words),
                title=rng.choice([None, "Harbour lights", "NEON dusk"]),
                tags=list(dict.fromkeys(rng.sample(TAGS, rng.randint(0, 3)))),
                model=rng.choice(MODELS),
                project_id=project.id if rng.random() < 0.3 else None,
                processing_status=rng.choice(list(ProcessingStatus)),
                is_favorite=rng.random() < 0.3,
                created_at=at(rng.randint(0, 20)),  # many ties: ids break them
                updated_at=at(30),
                edited_at=at(rng.randint(0, 40)) if rng.random() < 0.4 else None,
                deleted_at=at(50) if trashed else None,
                purge_at=at(50, days=30) if trashed else None,
                blob_key=f"images/{n:04d}.png" if n % 2 else None,
            )
        )
    added = await add_images(storage, *made)
    root = added[0]
    variants = [
        image(
            team, prompt="variant harbour", parent_id=root.id, root_id=root.id, created_at=at(60)
        ),
        image(team, prompt="variant of variant", root_id=root.id, created_at=at(61)),
    ]
    first = (await add_images(storage, variants[0]))[0]
    variants[1].parent_id = first.id
    await add_images(storage, variants[1])
    await add_images(storage, image(other, prompt="harbour of another team", tags=["sea"]))
    async with storage.unit_of_work() as uow:
        for n, item in enumerate(added[:12]):
            await uow.shares.add(
                Share(
                    id=0,
                    team_id=team,
                    image_id=item.id,
                    token=f"tok-{n}",
                    created_at=at(1),
                    expires_at=[None, at(400), at(900)][n % 3],
                    revoked_at=at(2) if n % 4 == 3 else None,
                )
            )
        await uow.commit()
    return team, other, root.id


def queries(team: int, project: int) -> Iterator[ImageQuery]:
    filters: list[dict[str, Any]] = [
        {},
        {"favorite": True},
        {"favorite": False},
        {"model": "dall-e-3"},
        {"project_id": project},
        {"statuses": (ProcessingStatus.READY, ProcessingStatus.FAILED)},
        {"created_from": at(5), "created_to": at(12)},
        {"tags": ("sea",)},
        {"tags": ("SEA", "night")},
        {"tags": ("été",)},
        {"tags": ("nowhere",)},
        {"q": "harb"},
        {"q": "HARBOUR dusk"},
        {"q": "caf"},
        {"q": "foo_b"},
        {"q": "x"},
        {"q": "nothing-matches"},
        {"q": "light", "tags": ("sea",), "favorite": True},
        {"q": "neon", "model": "gpt-image-1", "created_from": at(3)},
        # prefixes of several stored words of one image: ``harbour`` and ``harbor``,
        # ``light`` and ``lighthouse`` (each image listed once)
        {"q": "light harb"},
        {"q": "l", "favorite": False},
        {"q": "harbo", "tags": ("night",)},
    ]
    for where in filters:
        for sort in ImageSort:
            for page in (1, 2, 4):
                yield ImageQuery(team_id=team, sort=sort, page=page, per_page=7, **where)


class ReadsContract(StorageFixtures):
    """The gallery's read path agrees with the unit of work."""

    async def test_listing_equals_the_unit_of_work_answers(self, storage: Storage) -> None:
        team, _, _ = await seed(storage)
        async with storage.unit_of_work() as uow:
            project = (await uow.projects.list(team, 1, 10))[0][0].id
        checked = 0
        for query in queries(team, project):
            async with storage.unit_of_work() as uow:
                expected, total = await uow.images.list(query)
                shares = await uow.shares.active_for_images(team, [i.id for i in expected], NOW)
            found = await storage.reads().image_listing(query, NOW, 10_000)
            assert [_fields(i) for i in found.images] == [_fields(i) for i in expected], query
            assert (found.total, found.total_exact) == (total, True), query
            assert {k: _fields(v) for k, v in found.shares.items()} == {
                k: _fields(v) for k, v in shares.items()
            }
            checked += len(expected)
        assert checked > 300  # the data set exercises the filters

    async def test_a_filtered_total_may_stop_at_the_limit(self, storage: Storage) -> None:
        team, _, _ = await seed(storage)
        for where in ({"favorite": False}, {"q": "harb"}, {"tags": ("sea",)}, {}):
            query = ImageQuery(team_id=team, per_page=2, **where)
            async with storage.unit_of_work() as uow:
                _, exact = await uow.images.list(query)
            assert exact > 3
            found = await storage.reads().image_listing(query, NOW, 3)
            assert len(found.images) == 2
            if found.total_exact:
                assert found.total == exact
            else:
                assert found.total == 3

    async def test_family_equals_the_unit_of_work_answers(self, storage: Storage) -> None:
        team, other, root = await seed(storage)
        async with storage.unit_of_work() as uow:
            ids = [i.id for i in (await uow.images.list(ImageQuery(team_id=team, per_page=100)))[0]]
        for image_id in [root, *ids[:10], 10_000]:
            async with storage.unit_of_work() as uow:
                item = await uow.images.get(team, image_id)
                tree = await uow.images.tree(team, item.tree_root) if item else []
                shares = await uow.shares.active_for_images(team, [i.id for i in tree], NOW)
            family = await storage.reads().image_family(team, image_id, NOW)
            if item is None:
                assert family is None
                continue
            assert family is not None
            assert _fields(family.image) == _fields(item)
            assert [_fields(i) for i in family.tree] == [_fields(i) for i in tree]
            assert family.shares.keys() == shares.keys()
        assert await storage.reads().image_family(other, root, NOW) is None  # another team's

    async def test_tag_lists_follow_trash_restore_retagging_and_dates(
        self, storage: Storage
    ) -> None:
        """Tag filters follow every change of the image (a backend that copies the
        image's date or liveness into tag rows must keep them in step)."""
        team, _ = await two_teams(storage)
        a, b, c = await add_images(
            storage,
            image(team, tags=["Sea"], created_at=at(1)),
            image(team, tags=["sea", "sky"], created_at=at(2)),
            image(team, tags=["sky"], created_at=at(3)),
        )

        async def listed(sort: ImageSort = ImageSort.NEWEST) -> tuple[list[int], int]:
            query = ImageQuery(team_id=team, tags=("sea",), sort=sort)
            found = await storage.reads().image_listing(query, NOW, 100)
            return [i.id for i in found.images], found.total

        async def write(item: Image) -> None:
            async with storage.unit_of_work() as uow:
                await uow.images.update(item)
                await uow.commit()

        assert await listed() == ([b.id, a.id], 2)
        b.deleted_at, b.purge_at = at(5), at(6)
        await write(b)
        assert await listed() == ([a.id], 1)
        b.deleted_at = b.purge_at = None
        await write(b)
        c.tags = ["SEA", "sky"]
        await write(c)
        assert await listed() == ([c.id, b.id, a.id], 3)
        a.created_at = at(10)
        await write(a)
        assert await listed() == ([a.id, c.id, b.id], 3)
        assert await listed(ImageSort.OLDEST) == ([b.id, c.id, a.id], 3)
        b.tags = ["sky"]
        await write(b)
        async with storage.unit_of_work() as uow:
            await uow.images.delete(team, c.id)
            await uow.commit()
        assert await listed() == ([a.id], 1)

    async def test_word_lists_follow_trash_restore_retitling_retagging_and_dates(
        self, storage: Storage
    ) -> None:
        """Whatever a backend keeps of an image's words (its ``check_consistency`` is
        called after each write) follows every change of the image."""
        team, other = await two_teams(storage)
        a, b, c, _ = await add_images(
            storage,
            image(team, prompt="harbour at dusk", created_at=at(1)),
            image(team, prompt="harbor harbour", title="Harbours", created_at=at(2)),
            image(team, prompt="sky", created_at=at(3)),
            image(other, prompt="harbour", created_at=at(4)),
        )

        async def listed(
            q: str = "harb", sort: ImageSort = ImageSort.NEWEST
        ) -> tuple[list[int], int]:
            """Page by page, one image each: a stale date in a word row shows in the order."""
            ids: list[int] = []
            totals: set[int] = set()
            for page in range(1, 6):
                query = ImageQuery(team_id=team, q=q, sort=sort, page=page, per_page=1)
                found = await storage.reads().image_listing(query, NOW, 100)
                assert found.total_exact
                ids.extend(i.id for i in found.images)
                totals.add(found.total)
            assert len(totals) == 1
            return ids, totals.pop()

        async def write(item: Image) -> None:
            async with storage.unit_of_work() as uow:
                await uow.images.update(item)
                await uow.commit()
            await self.check_consistency(storage)

        await self.check_consistency(storage)
        assert await listed() == ([b.id, a.id], 2)
        b.deleted_at, b.purge_at = at(5), at(6)
        await write(b)
        assert await listed() == ([a.id], 1)
        b.deleted_at = b.purge_at = None
        await write(b)
        c.title = "Harbour view"
        await write(c)
        assert await listed() == ([c.id, b.id, a.id], 3)
        assert await listed("view harb") == ([c.id], 1)
        a.created_at = at(10)
        await write(a)
        assert await listed() == ([a.id, c.id, b.id], 3)
        assert await listed(sort=ImageSort.OLDEST) == ([b.id, c.id, a.id], 3)
        c.title = None
        c.tags = ["Harborside"]
        await write(c)
        assert await listed("harbors") == ([c.id], 1)
        b.prompt, b.title = "sky", None
        await write(b)
        assert await listed() == ([a.id, c.id], 2)
        async with storage.unit_of_work() as uow:
            await uow.images.delete(team, c.id)
            await uow.commit()
        await self.check_consistency(storage)
        assert await listed() == ([a.id], 1)
        assert await listed("sky") == ([b.id], 1)
        assert await listed("zzz") == ([], 0)


async def seed_lists(storage: Storage) -> tuple[int, int, int]:
    """A team's events (every status and type, some unscheduled, ties in time), ledger
    and look-alike hashes besides ``seed``'s images; its team, project and an image."""
    team, _, root = await seed(storage)
    async with storage.unit_of_work() as uow:
        project = (await uow.projects.list(team, 1, 10))[0][0].id
    rng = random.Random(11)
    async with storage.unit_of_work() as uow:
        for n in range(60):
            dated = rng.random() < 0.8
            await uow.events.add(
                event(
                    team,
                    project,
                    title=f"e{n}",
                    type=rng.choice(list(EventType)),
                    status=rng.choice(list(EventStatus)) if dated else EventStatus.IDEA,
                    scheduled_at=at(rng.randint(0, 30) * 60) if dated else None,
                    created_at=at(rng.randint(0, 5)),
                )
            )
        for _ in range(40):
            await uow.ledger.add(
                LedgerEntry(0, team, rng.randint(-5, 5), "charge", at(rng.randint(0, 9)))
            )
        await uow.commit()
    async with storage.unit_of_work() as uow:
        found, _ = await uow.images.list(ImageQuery(team_id=team, per_page=100))
        for item in found:
            item.phash = to_signed(
                0x8F0F_1234_ABCD_0F01 ^ rng.getrandbits(20) << rng.choice((0, 40))
            )
            await uow.images.update(item)
        await uow.commit()
    return team, project, root


class ListReadsContract(StorageFixtures):
    """The read port's lists agree with the repositories' (``UnitOfWorkReads``)."""

    async def test_lists_equal_the_unit_of_work_answers(self, storage: Storage) -> None:
        team, project, root = await seed_lists(storage)
        mine, theirs = storage.reads(), UnitOfWorkReads(storage)
        events = [
            EventQuery(team, project, page=page, per_page=7, **where)
            for page in (1, 3, 20)
            for where in (
                {},
                {"unscheduled": True},
                {"scheduled_from": at(300), "scheduled_to": at(1200)},
                {"statuses": (EventStatus.PLANNED, EventStatus.IDEA)},
                {"types": (EventType.ARTICLE,), "scheduled_from": at(60)},
            )
        ]
        for query in events:
            found, expected = await mine.event_page(query), await theirs.event_page(query)
            assert _listed(found) == _listed(expected), query
        assert (await mine.event_page(EventQuery(team + 999, project)))[1] == 0
        everything = EventQuery(team, project, per_page=7)
        whole, total = await theirs.event_page(everything)
        assert total > 2
        for limit in (0, 1, total, total + 5):
            found = await mine.event_page(everything, count_limit=limit)
            assert _listed(found) == _listed((whole, min(total, limit + 1))), limit
        days = DayQuery(
            team,
            project,
            tuple((at(d * 60).date(), at(d * 60), at(d * 60 + 59)) for d in range(31)),
        )
        assert sorted(await mine.day_counts(days)) == sorted(await theirs.day_counts(days))
        assert await mine.day_counts(DayQuery(team, project, ())) == []
        for page in (1, 2, 9):
            assert _listed(await mine.ledger_page(team, page, 7)) == _listed(
                await theirs.ledger_page(team, page, 7)
            )
            trash = await mine.trash_listing(team, page, 3, NOW)
            trashed = await theirs.trash_listing(team, page, 3, NOW)
            assert _listed((trash.images, trash.total)) == _listed((trashed.images, trashed.total))
            assert trash.shares.keys() == trashed.shares.keys()
        for distance in (0, 8, 16, 32):
            for page in (1, 2, 50):
                similar = SimilarQuery(team, root, distance, page, 5)
                a = await mine.similar_listing(similar, NOW)
                b = await theirs.similar_listing(similar, NOW)
                assert a is not None and b is not None
                assert _fields(a.image) == _fields(b.image)
                assert [(_fields(i), d) for i, d in a.near] == [(_fields(i), d) for i, d in b.near]
                assert (a.total, a.shares.keys()) == (b.total, b.shares.keys()), distance
        assert await mine.similar_listing(SimilarQuery(team, 10_000_000, 8), NOW) is None
        assert await mine.similar_listing(SimilarQuery(team + 999, root, 8), NOW) is None


def _listed(found: tuple[list[Any], int]) -> tuple[list[dict[str, Any]], int]:
    return [_fields(i) for i in found[0]], found[1]
