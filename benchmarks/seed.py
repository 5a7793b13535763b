"""Bulk-seed images for scale benchmarks and query-plan tests (Core INSERT, executemany).

Deterministic for a given seed. Per image: 8 prompt words from a 2,000-word vocabulary
(each word in ~0.4 % of prompts), 0-3 tags from 100 (each tag on ~2 % of images), a
title on 30 %, 20 % edited, 10 % favourites, 2 % in the trash, mostly ``ready``; one
in 10,000 also has ``RARE_WORD`` in its prompt and ``RARE_TAG``.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from rankion_core.models import ProcessingStatus
from rankion_core.rules.search import words
from rankion_core.rules.text import tag_key
from rankion_sqlalchemy import SqlStorage
from rankion_sqlalchemy.search import MAX_WORD
from rankion_sqlalchemy.tables import image_tags, images, teams

__all__ = [
    "COMMON_TAG",
    "COMMON_WORD",
    "MODELS",
    "RARE_TAG",
    "RARE_WORD",
    "analyze",
    "ensure_team",
    "seed_images",
]

START = datetime(2023, 1, 1, tzinfo=UTC)
_SYLLABLES = ["ka", "lo", "mi", "ra", "te", "zu", "no", "vi", "sa", "qe", "do", "fy", "pu"]
VOCABULARY = sorted({a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in _SYLLABLES})[:2000]
TAGS = [f"tag{n:03d}" for n in range(100)]
MODELS = ["gpt-image-1", "dall-e-3", "flux-pro"]
COMMON_WORD = VOCABULARY[123]
COMMON_TAG = TAGS[7]
#: On one image in 10,000: what a selective filter looks like.
RARE_WORD = "zzrare"
RARE_TAG = "rare-tag"


async def ensure_team(storage: SqlStorage, team_id: int) -> None:
    async with storage.engine.begin() as connection:
        found = await connection.scalar(select(teams.c.id).where(teams.c.id == team_id))
        if found is None:
            await connection.execute(
                insert(teams).values(
                    id=team_id, name=f"bench-{team_id}", credits=0, created_at=START
                )
            )


def _search_text(title: str | None, prompt: str, tags: list[str]) -> str:
    texts = [t for t in (title, prompt, *tags) if t]
    return " ".join(dict.fromkeys(w[:MAX_WORD] for t in texts for w in words(t)))


def _row(rng: random.Random, image_id: int, team_id: int) -> dict[str, Any]:
    created = START + timedelta(minutes=image_id, seconds=rng.randint(-1800, 1800))
    rare = rng.random() < 0.0001
    prompt = " ".join(rng.choices(VOCABULARY, k=8) + ([RARE_WORD] if rare else []))
    title = " ".join(rng.choices(VOCABULARY, k=2)).title() if rng.random() < 0.3 else None
    tags = rng.sample(TAGS, k=rng.choice([0, 1, 2, 3])) + ([RARE_TAG] if rare else [])
    trashed = rng.random() < 0.02
    status = rng.choices(list(ProcessingStatus), weights=[2, 1, 94, 3])[0]
    return {
        "id": image_id,
        "team_id": team_id,
        "prompt": prompt,
        "model": rng.choice(MODELS),
        "size": "1024x1024",
        "quality": "high",
        "created_at": created,
        "updated_at": created,
        "title": title,
        "output_format": "png",
        "tags": tags,
        "is_favorite": rng.random() < 0.1,
        "processing_status": status,
        "credits_charged": 5,
        "share_views": 0,
        "edited_at": created + timedelta(hours=rng.randint(1, 500)) if rng.random() < 0.2 else None,
        "deleted_at": created + timedelta(days=1) if trashed else None,
        "purge_at": created + timedelta(days=31) if trashed else None,
        "search_text": _search_text(title, prompt, tags),
    }


def _tag_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "image_id": r["id"],
            "team_id": r["team_id"],
            "tag_lower": key,
            "created_at": r["created_at"],
            "live": r["deleted_at"] is None,
        }
        for r in rows
        for key in dict.fromkeys(tag_key(t) for t in r["tags"])
    ]


async def seed_images(
    storage: SqlStorage, team_id: int, count: int, *, seed: int = 1, batch: int = 10_000
) -> None:
    """Add ``count`` images to ``team_id`` after the current highest id."""
    await ensure_team(storage, team_id)
    async with storage.engine.connect() as connection:
        start = int(await connection.scalar(select(func.coalesce(func.max(images.c.id), 0))))
    rng = random.Random(f"{seed}-{team_id}-{start}")
    for offset in range(0, count, batch):
        first = start + offset + 1
        rows = [_row(rng, i, team_id) for i in range(first, first + min(batch, count - offset))]
        async with storage.engine.begin() as connection:
            await connection.execute(insert(images), rows)
            tag_rows = _tag_rows(rows)
            if tag_rows:
                await connection.execute(insert(image_tags), tag_rows)
    if storage.dialect == "postgresql":  # explicit ids: move the sequence past them
        async with storage.engine.begin() as connection:
            await connection.execute(
                text("SELECT setval(pg_get_serial_sequence('images', 'id'), max(id)) FROM images")
            )


async def analyze(storage: SqlStorage) -> None:
    """Fresh planner statistics (``ANALYZE``; on PostgreSQL also the visibility map)."""
    if storage.dialect == "postgresql":
        async with storage.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))
    else:
        async with storage.engine.begin() as connection:
            await connection.execute(text("ANALYZE"))
