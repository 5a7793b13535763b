"""Exports, the credit ledger and idempotency records."""

from __future__ import annotations

import builtins
from datetime import datetime

from sqlalchemy import delete, func, select, update

from rankion_core.models import Export, IdempotencyRecord, LedgerEntry

from ..listings import ledger_statements
from ..rows import rows_of, values_of
from ..tables import exports, idempotency_records, ledger_entries
from .base import Repository

__all__ = ["ExportRepo", "IdempotencyRepo", "LedgerRepo"]

_x = exports.c
_l = ledger_entries.c
_i = idempotency_records.c
_EXPORT, _ENTRY = rows_of(Export), rows_of(LedgerEntry)
_RECORD = rows_of(IdempotencyRecord)


class ExportRepo(Repository):
    async def add(self, export: Export) -> Export:
        return await self._add(export)

    async def get(self, team_id: int, job_id: int) -> Export | None:
        stmt = _EXPORT.select().where(_x.team_id == team_id, _x.job_id == job_id)
        return await self._first(_EXPORT, stmt)

    async def get_any(self, job_id: int) -> Export | None:
        return await self._first(_EXPORT, _EXPORT.select().where(_x.job_id == job_id))

    async def update(self, export: Export) -> None:
        await self._update_row(exports, export, ("job_id",))

    async def expired(self, now: datetime) -> builtins.list[Export]:
        stmt = (
            _EXPORT.select()
            .where(_x.expires_at <= now, _x.blob_key.is_not(None))
            .order_by(_x.expires_at, _x.job_id)
        )
        return await self._all(_EXPORT, stmt)

    async def blob_keys(self) -> set[str]:
        keys = await self.session.scalars(select(_x.blob_key).where(_x.blob_key.is_not(None)))
        return {str(key) for key in keys}

    async def kept(self, team_id: int, now: datetime) -> tuple[int, datetime | None]:
        stmt = select(func.coalesce(func.sum(_x.size_bytes), 0), func.min(_x.expires_at)).where(
            _x.team_id == team_id, _x.blob_key.is_not(None), _x.expires_at > now
        )
        total, first = (await self.session.execute(stmt)).one()
        return int(total), first


class LedgerRepo(Repository):
    async def add(self, entry: LedgerEntry) -> LedgerEntry:
        return await self._add(entry)

    async def list(
        self, team_id: int, page: int, per_page: int
    ) -> tuple[builtins.list[LedgerEntry], int]:
        return await self._listed(ledger_statements(), {"team_id": team_id}, page, per_page)

    async def total(self, team_id: int) -> int:
        stmt = select(func.coalesce(func.sum(_l.delta), 0)).where(_l.team_id == team_id)
        return int(await self.session.scalar(stmt) or 0)

    async def has_entry(self, job_id: int, reason: str) -> bool:
        stmt = select(_l.id).where(_l.job_id == job_id, _l.reason == reason).limit(1)
        return await self.session.scalar(stmt) is not None

    async def job_of_image(self, team_id: int, image_id: int) -> int | None:
        stmt = (
            select(_l.job_id)
            .where(_l.image_id == image_id, _l.team_id == team_id, _l.job_id.is_not(None))
            .order_by(_l.id.desc())
            .limit(1)
        )
        found = await self.session.scalar(stmt)
        return None if found is None else int(found)


class IdempotencyRepo(Repository):
    async def begin(self, record: IdempotencyRecord) -> IdempotencyRecord | None:
        """``INSERT … ON CONFLICT DO NOTHING RETURNING``, then read the winner."""
        insert = (
            self._insert(idempotency_records)
            .values(values_of(record))
            .on_conflict_do_nothing(index_elements=[_i.team_id, _i.key])
            .returning(_i.key)
        )
        if await self.session.scalar(insert) is not None:
            return None
        stmt = _RECORD.select().where(_i.team_id == record.team_id, _i.key == record.key)
        return await self._first(_RECORD, stmt)

    async def complete(self, record: IdempotencyRecord) -> None:
        record.completed = True
        await self.session.execute(
            update(idempotency_records)
            .where(_i.team_id == record.team_id, _i.key == record.key)
            .values(completed=True, status=record.status, body=record.body, headers=record.headers)
        )

    async def forget(self, team_id: int, key: str) -> None:
        await self.session.execute(
            delete(idempotency_records).where(_i.team_id == team_id, _i.key == key)
        )

    async def purge(self, before: datetime) -> int:
        return await self._rowcount(delete(idempotency_records).where(_i.created_at < before))
