"""Images: the gallery's lists, the trash, variant trees and the purge."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Executable,
    Integer,
    Select,
    and_,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    true,
    union,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY

from rankion_core.errors import Unavailable
from rankion_core.models import Image, Share
from rankion_core.ports import ImageQuery
from rankion_core.rules.similar import BAND_SHIFTS, band_probes
from rankion_core.rules.text import tag_key

from ..hashes import hash_distance
from ..listings import trash_statements
from ..plans import choose_plan
from ..queries import TRASHED, image_filters, image_page
from ..rows import EntityRows, rows_of, values_of
from ..search import image_search_text
from ..tables import chat_sessions, image_tags, images, phash_band, shares
from ..totals import live_count, unfiltered
from .base import Repository, dialect_insert
from .sessions import ShareRepo, active_share

__all__ = ["BY_IDS", "ImageRepo", "similar_statements"]

_c = images.c
_IMAGE = rows_of(Image)
#: images by id (parameter ``ids``), any team's: the caller keeps its team's
BY_IDS = _IMAGE.select().where(_c.id.in_(bindparam("ids", expanding=True))).order_by(_c.id)
#: built once (see ``base``): the parameters are ``where_team_id``, ``where_id``, ``updated_at``
_TOGGLE_FAVORITE = (
    update(images)
    .where(_c.team_id == bindparam("where_team_id"), _c.id == bindparam("where_id"))
    .values(is_favorite=~_c.is_favorite)
    # the flag alone: the whole row costs SQLite more than the UPDATE itself, and
    # the image made of it twice that again
    .returning(_c.is_favorite)
)
#: the share columns after the image's in ``_SHOWN``'s rows
_SHARE_AFTER = EntityRows.of(Share, start=len(_IMAGE.columns))
#: an image (``id``, ``team_id``) and its newest active share at ``now``, if any
_SHOWN = (
    select(*_IMAGE.columns, *_SHARE_AFTER.columns)
    .select_from(
        images.outerjoin(
            shares,
            and_(
                shares.c.image_id == _c.id,
                *active_share(bindparam("team_id"), bindparam("now")),
            ),
        )
    )
    .where(_c.id == bindparam("id"), _c.team_id == bindparam("team_id"))
    .order_by(shares.c.id.desc())
    .limit(1)
)


#: locked reads of a tree before giving up (each new one means a variant was made)
_TREE_READS = 5
#: the fields ``images.search_text`` is made of (``search.image_search_text``)
_SEARCHED = ("title", "prompt", "tags")
#: the condition of the partial indexes ``ix_images_phash`` and its bands'
HASHED = (_c.deleted_at.is_(None), _c.phash.is_not(None))


def tag_rows(image: Image) -> builtins.list[dict[str, object]]:
    """The normalised tag rows of ``image`` (one per distinct ``tag_key``)."""
    lowered = dict.fromkeys(tag_key(tag) for tag in image.tags)
    copied = {"created_at": image.created_at, "live": image.deleted_at is None}
    return [
        {"image_id": image.id, "team_id": image.team_id, "tag_lower": t, **copied} for t in lowered
    ]


def _probed(
    hashed: tuple[ColumnElement[bool], ...], bits: ColumnElement[int], shift: int
) -> Select[tuple[int, int]]:
    """PostgreSQL: one index lookup per probed value of the band at ``shift``
    (the array parameter ``band<shift>``).

    Asked ``band = ANY(values)``, PostgreSQL costs each of the values as a descent of
    its own and, with many values or no statistics yet (a freshly loaded table), reads
    the team's whole range of the band's index instead: four times the scan. Here each
    value drives a lookup of its own (``OFFSET 0`` keeps the planner from folding the
    lateral subquery into a join it could answer by hashing the whole range)."""
    values = bindparam(f"band{shift}", type_=ARRAY(BigInteger))
    probe = func.unnest(values).table_valued("v").render_derived(name=f"p{shift}")
    near = (
        select(_c.id, bits.label("d"))
        .where(*hashed, phash_band(shift) == probe.c.v)
        .offset(0)
        .lateral(f"b{shift}")
    )
    return select(near.c.id, near.c.d).select_from(probe).join(near, true())


def similar_statements(
    dialect: str, team_id: int, phash: int, max_distance: int, exclude_id: int
) -> tuple[Executable, Executable, dict[str, Any]]:
    """``ImageRepository.similar``'s statements (``_similar_statements``) and their
    parameters but the page's ``limit`` and ``offset``."""
    probes = band_probes(phash, max_distance)
    paged, counted = _similar_statements(dialect, probes is not None)
    values = {
        "team_id": team_id,
        "phash": phash,
        "exclude_id": exclude_id,
        "max_distance": max_distance,
        **{f"band{shift}": probed for shift, probed in probes or []},
    }
    return paged, counted, values


@cache
def _similar_statements(dialect: str, banded: bool) -> tuple[Executable, Executable]:
    """``similar``'s statements, built once per dialect and kind: the page (``id``,
    ``d``, ``total``: closest first, then by id) and the count alone (for a page past
    the last). Their parameters are named: ``team_id``, ``phash``, ``exclude_id``,
    ``max_distance``, ``band<shift>``, and the page's ``limit`` and ``offset``. Building
    them anew per call, with hundreds of probed values, took longer than SQLite took to
    answer; an image found through two bands is one row of the ``UNION``."""
    bits = hash_distance(dialect, _c.phash, bindparam("phash", type_=BigInteger))
    hashed = (
        _c.team_id == bindparam("team_id"),
        *HASHED,
        _c.id != bindparam("exclude_id"),
        bits <= bindparam("max_distance"),
    )
    found: Select[tuple[int, int]] | CompoundSelect[tuple[int, int]]
    if not banded:
        found = select(_c.id, bits.label("d")).where(*hashed)
    elif dialect == "postgresql":
        found = union(*(_probed(hashed, bits, shift) for shift in BAND_SHIFTS))
    else:
        found = union(
            *(
                select(_c.id, bits.label("d")).where(
                    *hashed, phash_band(shift).in_(bindparam(f"band{shift}", expanding=True))
                )
                for shift in BAND_SHIFTS
            )
        )
    near = found.subquery("near")
    page = (
        select(near.c.id, near.c.d, func.count().over().label("total"))
        .order_by(near.c.d, near.c.id)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
    )
    return page, select(func.count()).select_from(near)


@cache
def _tag_insert(dialect: str) -> Executable:
    """``INSERT INTO image_tags … ON CONFLICT DO NOTHING``, built once per dialect."""
    return dialect_insert(dialect, image_tags).on_conflict_do_nothing()


class ImageRepo(Repository):
    async def add(self, image: Image) -> Image:
        await self._add(image, search_text=image_search_text(image))
        await self._write_tags(image, replace=False)
        return image

    async def get(self, team_id: int, image_id: int, *, for_update: bool = False) -> Image | None:
        return await self._first_where(_IMAGE, lock=for_update, team_id=team_id, id=image_id)

    async def get_shown(
        self, team_id: int, image_id: int, now: datetime, *, for_update: bool = False
    ) -> tuple[Image, Share | None] | None:
        if for_update and self.dialect != "sqlite":
            # Not one statement: PostgreSQL reads a statement's rows as they were when
            # it began, so one that waited for the image's lock (a share flow holds it
            # while it makes or revokes the share: ``services.shares``) would answer
            # with the share as it was before that flow committed. Locked first, the
            # share is read as it is once the lock is had. (On SQLite the unit of work
            # holds the database's write lock before its first statement: nothing can
            # change under the one statement.)
            image = await self.get(team_id, image_id, for_update=True)
            if image is None:
                return None
            share = await ShareRepo(self.session, self.dialect).active_for_image(
                team_id, image_id, now
            )
            return image, share
        params = {"team_id": team_id, "id": image_id, "now": now}
        row = (await self.session.execute(_SHOWN, params)).first()
        if row is None:
            return None
        image = _IMAGE.one(row)
        self._remember(images, values_of(image))  # as ``get``: for a change-only update
        shared = row[_SHARE_AFTER.start] is not None
        return image, _SHARE_AFTER.one(row) if shared else None

    async def get_many(
        self, team_id: int, ids: Sequence[int], *, for_update: bool = False
    ) -> builtins.list[Image]:
        if not ids:
            return []
        # Read by primary key alone, the team checked here: asked for ``team_id``
        # too, PostgreSQL without statistics yet (a freshly loaded table) ANDs the
        # primary key with a scan of the team's whole range of ``ix_images_root``.
        # (Locked, another team's rows wait for this unit of work: never written.)
        if for_update:
            stmt = _IMAGE.select().where(_c.id.in_(sorted(set(ids)))).order_by(_c.id)
            found = await self._all(_IMAGE, stmt, lock=True)
        else:
            found = _IMAGE.many(await self.session.execute(BY_IDS, {"ids": sorted(set(ids))}))
        return [i for i in found if i.team_id == team_id]

    async def update(self, image: Image, *, tags: bool = True, unlocked: bool = False) -> bool:
        if unlocked and tags:
            raise ValueError("tag rows are written from a read for update, never an unlocked one")
        # the words again only when what they are made of changed: an update that
        # rewrote them from a stale read (a worker finishing an image while its title
        # was changed) lost the new words, and each rewrite fires the index triggers
        values = values_of(image)
        searched = self._changed(images, image, _SEARCHED, values)
        extra = {"search_text": image_search_text(image)} if searched else {}
        # new words of a new title and the tags read: written while those tags (and
        # the prompt) are the row's. (A SQLite unit of work holds the write lock from
        # its first statement: nothing changed since its read.)
        guarded = unlocked and searched and self.dialect != "sqlite"
        kept = _SEARCHED if guarded else ()
        written = await self._update_row(
            images, image, ("id", "team_id"), values, kept=kept, **extra
        )
        if written and tags:
            await self._write_tags(image, replace=True)
        return written > 0 or not unlocked

    async def toggle_favorite(self, team_id: int, image_id: int, at: datetime) -> bool | None:
        params = {"where_team_id": team_id, "where_id": image_id, "updated_at": at}
        row = (await self.session.execute(_TOGGLE_FAVORITE, params)).first()
        return None if row is None else bool(row[0])

    async def _write_tags(self, image: Image, *, replace: bool) -> None:
        rows = tag_rows(image)
        if replace:
            kept = [row["tag_lower"] for row in rows]
            await self.session.execute(
                delete(image_tags).where(
                    image_tags.c.image_id == image.id, image_tags.c.tag_lower.not_in(kept)
                )
            )
        if rows:
            await self.session.execute(_tag_insert(self.dialect), rows)

    async def delete(self, team_id: int, image_id: int) -> None:
        owned = select(_c.id).where(_c.team_id == team_id, _c.id == image_id)
        if await self.session.scalar(owned) is None:
            return
        for table, key in (
            (shares, shares.c.image_id),
            (chat_sessions, chat_sessions.c.gallery_image_id),
            (image_tags, image_tags.c.image_id),
        ):
            await self.session.execute(delete(table).where(key == image_id))
        await self.session.execute(delete(images).where(_c.id == image_id))

    async def list(self, query: ImageQuery) -> tuple[builtins.list[Image], int]:
        items, total, _ = await self.list_counted(query)
        return items, total

    async def list_counted(
        self, query: ImageQuery, count_limit: int | None = None
    ) -> tuple[builtins.list[Image], int, bool]:
        """The page, the total and whether it is exact: with ``count_limit``, a
        filtered total stops at that many (``count_limit, False``)."""
        plan = await choose_plan(self.session, query, self.dialect)
        where = image_filters(query, self.dialect, plan)
        items = await self._all(_IMAGE, image_page(query, self.dialect, where, _IMAGE.columns))
        if unfiltered(query):  # the trigger-kept count
            return items, int(await self.session.scalar(live_count(query.team_id)) or 0), True
        if plan == "probe":
            where = image_filters(query, self.dialect, "drive")
        if count_limit is None:
            return items, await self._count(images, where), True
        matching = select(literal(1)).select_from(images).where(*where).limit(count_limit + 1)
        counted = int(
            await self.session.scalar(select(func.count()).select_from(matching.subquery())) or 0
        )
        return (items, count_limit, False) if counted > count_limit else (items, counted, True)

    async def list_trash(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[Image], int]:
        return await self._listed(trash_statements(), {"team_id": team_id}, page, per_page)

    async def tree(
        self, team_id: int, root_id: int, *, for_update: bool = False
    ) -> builtins.list[Image]:
        # Two index lookups, not ``id = ? OR root_id = ?``: SQLite answers that OR by
        # walking the team's whole ``ix_images_root`` range (373 ms at 1M images).
        # Locked: the rows of those ids (``FOR UPDATE`` refuses a ``UNION``).
        root = (_c.team_id == team_id, _c.id == root_id)
        below = (_c.team_id == team_id, _c.root_id == root_id, _c.id != root_id)
        if for_update:
            ids = union_all(select(_c.id).where(*root), select(_c.id).where(*below))
            stmt = _IMAGE.select().where(_c.id.in_(ids)).order_by(_c.id)
            return await self._locked_tree(stmt, root_id)
        family = union_all(_IMAGE.select().where(*root), _IMAGE.select().where(*below))
        return _IMAGE.many(await self.session.execute(family.order_by("id")))

    async def _locked_tree(self, stmt: Select[Any], root_id: int) -> builtins.list[Image]:
        """The tree's rows, locked. A locked read that waited sees the rows it waited
        for as committed, but not rows committed meanwhile (a variant made from one of
        them): read again until nothing new turns up. With every member locked, no
        edit can add another (an edit locks its source)."""
        locked: builtins.list[Image] = []
        for _ in range(_TREE_READS):
            found = await self._all(_IMAGE, stmt, lock=True)
            # a row moved to another tree while this read waited for it is not ours
            found = [i for i in found if root_id in (i.id, i.root_id)]
            if self.dialect != "postgresql" or [i.id for i in found] == [i.id for i in locked]:
                return found
            locked = found
        raise Unavailable("the image's variant tree keeps changing; try again")

    async def set_edited_at(self, team_id: int, ids: Sequence[int], at: datetime) -> None:
        if ids:
            stmt = update(images).where(_c.team_id == team_id, _c.id.in_(sorted(set(ids))))
            await self.session.execute(stmt.values(edited_at=at))

    async def set_trash(
        self,
        team_id: int,
        ids: Sequence[int],
        deleted_at: datetime | None,
        purge_at: datetime | None,
        at: datetime,
    ) -> None:
        if ids:
            stmt = update(images).where(_c.team_id == team_id, _c.id.in_(sorted(set(ids))))
            await self.session.execute(
                stmt.values(deleted_at=deleted_at, purge_at=purge_at, updated_at=at)
            )

    async def due_for_purge(self, now: datetime, limit: int) -> builtins.list[Image]:
        stmt = (
            _IMAGE.select()
            .where(TRASHED, _c.purge_at <= now)
            .order_by(_c.purge_at, _c.id)
            .limit(limit)
        )
        return await self._all(_IMAGE, stmt)

    async def blob_keys(self) -> set[str]:
        keyed = (_c.blob_key, _c.thumbnail_key, _c.public_key)
        stmt = select(*keyed, _c.renditions).where(or_(*(k.is_not(None) for k in keyed)))
        keys: set[str] = set()
        for *named, made in (await self.session.execute(stmt)).all():
            keys.update(k for k in named if k is not None)
            keys.update(str(r["key"]) for r in made or [])
        return keys

    async def similar(
        self, team_id: int, phash: int, max_distance: int, exclude_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[tuple[Image, int]], int]:
        """Up to distance 15, each hash band's index is asked for the band values
        ``rules.similar.band_probes`` names; wider, the team's whole range of
        ``ix_images_phash`` is read. Either way the database counts the distances
        (``hashes.hash_distance``), orders, counts and cuts out the page, so only
        the page's ids come back however many images match (half the team's at a
        wide distance: tens of thousands of rows to build, sort and count in Python,
        on the event loop); where units of work run inline (SQLite) it runs off the
        event loop. Then the page's rows are read by id."""
        paged, counted, values = similar_statements(
            self.dialect, team_id, phash, max_distance, exclude_id
        )
        shown = await self._rows_off_loop(
            paged, {**values, "limit": per_page, "offset": (page - 1) * per_page}
        )
        if shown:
            total = int(shown[0].total)
        elif page > 1:  # past the last page: the count alone
            total = int((await self._rows_off_loop(counted, values))[0][0])
        else:
            total = 0
        by_id = {i.id: i for i in await self.get_many(team_id, [int(r.id) for r in shown])}
        return [(by_id[r.id], int(r.d)) for r in shown if r.id in by_id], total
