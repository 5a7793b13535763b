"""``q`` on the SQL indexes answers exactly what the core's rule answers."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rankion_core.ports import ImageQuery
from rankion_core.rules.search import matches, words
from rankion_core.testing.builders import add_images, image, make_team
from rankion_sqlalchemy import SqlStorage, open_storage

from .backends import POSTGRES_URL, empty_postgres, postgres_options

#: Words in several scripts, with and without accents, "_", digits, punctuation.
ALPHABET = st.sampled_from(list("aeosuASE_019 -.,'\"*():éÉèüÜßçñøÅ漢字かなДжд€"))
TEXT = st.text(ALPHABET, min_size=1, max_size=24)


Row = tuple[str, str | None, list[str]]  # prompt, title, tags


async def _agree(storage: SqlStorage, rows: list[Row], q: str) -> None:
    try:
        team = await make_team(storage)
        made = await add_images(
            storage, *(image(team.id, prompt=p, title=t, tags=tags) for p, t, tags in rows)
        )
        async with storage.unit_of_work() as uow:
            found, _ = await uow.images.list(ImageQuery(team_id=team.id, q=q, per_page=100))
    finally:
        await storage.close()
    expected = {img.id for img in made if matches(words(q), [img.title, img.prompt, *img.tags])}
    assert {img.id for img in found} == expected


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def fresh_storage(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[], SqlStorage]:
    """A factory of empty, migrated databases, one per Hypothesis example (so it is
    module-scoped: nothing in it carries from one example to the next)."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")

        def sqlite() -> SqlStorage:
            path = tmp_path_factory.getbasetemp() / f"search-{uuid.uuid4().hex}.db"
            shutil.copyfile(template, path)
            return open_storage(f"sqlite:///{path}")

        return sqlite
    schema = request.getfixturevalue("postgres_schema")

    def postgres() -> SqlStorage:
        assert POSTGRES_URL is not None
        return open_storage(POSTGRES_URL, **postgres_options(schema))

    return postgres


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(TEXT, st.none() | TEXT, st.lists(TEXT, max_size=3)), min_size=1, max_size=6
    ),
    q=TEXT,
)
async def test_full_text_agrees_with_the_core(
    fresh_storage: Callable[[], SqlStorage], rows: list[Row], q: str
) -> None:
    storage = fresh_storage()
    if storage.dialect == "postgresql":
        await empty_postgres(storage)
    await _agree(storage, rows, q)
