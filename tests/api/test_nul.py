"""The NUL character (U+0000) in text, on both databases: PostgreSQL's ``text`` cannot
hold it, so every string of a body or a query that holds one is a ``422`` naming the
field, before any work, whatever the database (over HTTP the backends agree). A library
caller who passes one to PostgreSQL gets ``Invalid``, not a driver error.
"""

from __future__ import annotations

from typing import Any

from rankion_core.errors import Invalid
from rankion_core.models import Actor, EventStatus
from rankion_core.rules.calendar import EventDraft
from rankion_core.rules.text import NUL_REFUSED
from rankion_core.services.accounts import split_token
from rankion_sqlalchemy import SqlStorage

from .conftest import ClientFactory
from .sqlapi import sql_storage, start_sql

__all__ = ["sql_storage"]

NUL = "a\x00b"


async def test_nul_in_any_text_is_a_422_naming_the_field(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    project = await api.project()
    image = await api.generate()
    idea = {"title": "t", "status": "idea"}
    event = (await api.post(f"/v1/projects/{project}/calendar", idea)).data["id"]
    before = (await api.get("/v1/credits")).data
    writes: list[tuple[str, str, dict[str, Any], str]] = [
        ("POST", "/v1/projects", {"name": NUL}, "name"),
        ("PATCH", f"/v1/projects/{project}", {"name": NUL}, "name"),
        ("POST", f"/v1/projects/{project}/calendar", {**idea, "title": NUL}, "title"),
        ("POST", f"/v1/projects/{project}/calendar", {**idea, "notes": NUL}, "notes"),
        ("PUT", f"/v1/calendar/{event}", {"notes": NUL}, "notes"),
        ("POST", "/v1/generate/image", {"prompt": NUL}, "prompt"),
        ("POST", "/v1/generate/image", {"prompt": "p", "title": NUL}, "title"),
        ("POST", "/v1/generate/image", {"prompt": "p", "tags": ["x", NUL]}, "tags[1]"),
        ("PATCH", f"/v1/images/{image}", {"title": NUL}, "title"),
        ("POST", f"/v1/images/{image}/edit", {"prompt": NUL}, "prompt"),
        ("POST", "/v1/webhooks", {"url": "https://example.com/h\x00", "events": []}, "url"),
        # a date-time: fromisoformat would read up to the NUL and ignore the rest
        (
            "PUT",
            f"/v1/calendar/{event}",
            {"scheduled_at": "2027-01-01T00:00:00Z\x00x"},
            "scheduled_at",
        ),
        (
            "POST",
            f"/v1/images/{image}/share",
            {"expires_at": "2030-01-01T00:00:00Z\x00"},
            "expires_at",
        ),
    ]
    for method, path, body, field in writes:
        answer = await api.call(method, path, body)
        assert answer.status == 422, (path, body, answer.body)
        assert answer.error["details"].get(field) == NUL_REFUSED, (path, answer.error)
    reads = [("/v1/images?tags[]=a%00", "tags[]"), ("/v1/images?model=a%00", "model")]
    reads += [(f"/v1/projects/{project}/calendar?status=idea%00", "status")]
    for path, param in reads:
        answer = await api.get(path)
        assert answer.status == 422, (path, answer.body)
        assert param in answer.error["details"], (path, answer.error)
    assert (await api.get("/v1/credits")).data == before  # nothing was charged


async def test_a_library_caller_gets_invalid_not_a_driver_error(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    api = await start_sql(aiohttp_client, sql_storage)
    project = await api.project()
    calendar = api.rankion.calendar
    draft = EventDraft(title="t", notes=NUL, status=EventStatus.IDEA)
    try:
        made = await calendar.create(Actor(team_id=api.a.id), project, draft)
    except Invalid as refused:
        assert sql_storage.dialect == "postgresql", refused  # SQLite stores it
    else:
        assert sql_storage.dialect == "sqlite" and made.event.notes == NUL


async def test_a_token_whose_prefix_is_not_hexadecimal_is_no_token(
    aiohttp_client: ClientFactory, sql_storage: SqlStorage
) -> None:
    """The sign-in form takes any text as a token: its lookup prefix never reaches the
    database unless it is one a token can have."""
    api = await start_sql(aiohttp_client, sql_storage)
    for prefix in ("\x00" * 16, "g" * 16, "é" * 16):
        assert split_token(f"rk_{prefix}_secret") is None
        assert await api.rankion.accounts.authenticate(f"rk_{prefix}_secret") is None
    assert split_token("rk_0123456789abcdef_secret") == "0123456789abcdef"
