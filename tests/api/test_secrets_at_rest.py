"""Secrets at rest: a dump of the whole database holds no API token, nor its secret part.

Tokens are stored as a SHA-256 digest beside a non-secret lookup prefix and compared
in constant time (``rankion_core.services.accounts``). Share tokens carry ≥ 128 bits.
"""

from __future__ import annotations

import base64
import sqlite3

from sqlalchemy import text

from rankion_core.services.accounts import split_token
from rankion_sqlalchemy import SqlStorage
from rankion_sqlalchemy.tables import metadata

from .conftest import Api, ClientFactory
from .sqlapi import sql_storage, start_sql

__all__ = ["sql_storage"]


async def _dump(storage: SqlStorage) -> str:
    """Every row of every table as text (SQLite: ``iterdump`` of the file)."""
    url = storage.engine.url
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        with sqlite3.connect(url.database) as connection:
            return "\n".join(connection.iterdump())
    lines: list[str] = []
    async with storage.engine.connect() as connection:
        for table in metadata.sorted_tables:
            rows = await connection.execute(text(f'SELECT * FROM "{table.name}"'))
            lines.extend(repr(tuple(row)) for row in rows)
    return "\n".join(lines)


async def _use_the_api(api: Api) -> None:
    """Leave traces a token could end up in: jobs, idempotency records, shares."""
    image = await api.generate()
    await api.post("/v1/generate/image", {"prompt": "x"}, headers={"Idempotency-Key": "k1"})
    await api.post(f"/v1/images/{image}/share")
    await api.post("/v1/projects", {"name": "Blog"}, team=api.b)


async def test_no_api_token_in_clear(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    await _use_the_api(api)
    dump = await _dump(sql_storage)
    assert "INSERT INTO" in dump or "(" in dump
    for token in (api.a.token, api.b.token):
        prefix = split_token(token)
        assert prefix is not None and prefix in dump  # the lookup prefix is stored…
        secret = token.split("_", 2)[2]  # rk_<prefix>_<secret>; the secret may hold "_"
        assert token not in dump and secret not in dump  # …the secret never is
        assert secret[:16] not in dump


async def test_share_tokens_carry_at_least_128_bits(api: Api) -> None:
    tokens = set()
    for _ in range(5):
        image = await api.generate()
        tokens.add((await api.post(f"/v1/images/{image}/share")).data["token"])
    assert len(tokens) == 5
    for token in tokens:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert len(raw) * 8 >= 128, token
