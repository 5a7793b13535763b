"""Public shares: managing them, the public page and image, view counts; chat sessions."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path

import pytest
from attrs import evolve
from PIL import Image as PILImage

from .conftest import Api, ClientFactory, config, relative, start

SHARE_FIELDS = {"token", "public_url", "expires_at", "view_count", "created_at"}


def _future(hours: int = 48) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def _meta(html: str, prop: str) -> str:
    found = re.search(rf'<meta (?:property|name)="{re.escape(prop)}" content="([^"]*)">', html)
    assert found, prop
    return unescape(found.group(1))


async def test_share_is_idempotent(api: Api) -> None:
    image_id = await api.generate()
    path = f"/v1/images/{image_id}/share"
    first = await api.post(path)
    assert first.status == 201
    share = first.data
    assert set(share) == SHARE_FIELDS
    assert share["view_count"] == 0 and share["expires_at"] is None
    assert share["public_url"].endswith(f"/s/{share['token']}")
    assert len(share["token"]) >= 22
    again = await api.post(path, {})
    assert again.status == 200
    assert again.data == share
    assert (await api.image(image_id))["share"] == share


async def test_expiry_on_new_and_existing_shares(api: Api) -> None:
    image_id = await api.generate()
    path = f"/v1/images/{image_id}/share"
    created = await api.post(path, {"expires_at": "2099-01-01T02:00:00+02:00"})
    assert created.status == 201
    assert created.data["expires_at"] == "2099-01-01T00:00:00Z"
    moved = await api.post(path, {"expires_at": "2098-01-01T00:00:00Z"})
    assert moved.status == 200
    assert moved.data["expires_at"] == "2098-01-01T00:00:00Z"
    assert moved.data["token"] == created.data["token"]
    kept = await api.post(path)
    assert kept.data["expires_at"] == "2098-01-01T00:00:00Z"
    cleared = await api.post(path, {"expires_at": None})
    assert cleared.data["expires_at"] is None


@pytest.mark.parametrize("expires_at", ["2000-01-01T00:00:00Z", "2099-01-01T00:00:00", "soon", 5])
async def test_bad_expiry_is_422(api: Api, expires_at: object) -> None:
    image_id = await api.generate()
    post = await api.post(f"/v1/images/{image_id}/share", {"expires_at": expires_at})
    assert post.status == 422
    assert "expires_at" in post.error["details"]
    await api.post(f"/v1/images/{image_id}/share")
    patch = await api.call("PATCH", f"/v1/images/{image_id}/share", {"expires_at": expires_at})
    assert patch.status == 422


async def test_patch_and_delete_share(api: Api) -> None:
    image_id = await api.generate()
    path = f"/v1/images/{image_id}/share"
    assert (await api.call("PATCH", path, {"expires_at": None})).status == 404
    assert (await api.call("DELETE", path)).status == 404
    await api.post(path)
    patched = await api.call("PATCH", path, {"expires_at": _future()})
    assert patched.status == 200
    assert patched.data["expires_at"]
    assert (await api.call("PATCH", path, {})).status == 422  # expires_at is required
    assert (await api.call("PATCH", path, {"expires_at": None})).data["expires_at"] is None
    revoked = await api.call("DELETE", path)
    assert revoked.status == 204
    assert (await api.call("DELETE", path)).status == 404
    assert (await api.image(image_id))["share"] is None


async def test_share_needs_a_ready_image_out_of_trash(api: Api) -> None:
    pending = await api.generate(run=False)
    answer = await api.post(f"/v1/images/{pending}/share")
    assert answer.status == 409
    assert answer.error["code"] == "image_not_ready"
    await api.run_jobs()
    await api.call("DELETE", f"/v1/images/{pending}")
    trashed = await api.post(f"/v1/images/{pending}/share")
    assert trashed.error["code"] == "image_in_trash"


async def test_a_failed_image_is_not_shared_and_the_answer_says_it_failed(api: Api) -> None:
    failed = await api.generate(prompt="[reject] not this one")
    assert (await api.image(failed))["processing_status"] == "failed"
    answer = await api.post(f"/v1/images/{failed}/share")
    assert answer.status == 409
    assert answer.error["code"] == "image_not_ready"
    assert "failed" in answer.error["message"]
    assert "not ready yet" not in answer.error["message"]
    pending = await api.generate(run=False)
    waiting = await api.post(f"/v1/images/{pending}/share")
    assert waiting.error["message"] == "the image is not ready yet"


async def test_the_public_page_and_image(api: Api) -> None:
    image_id = await api.generate(title='Sunset <script>alert("x")</script> & more')
    share = (await api.post(f"/v1/images/{image_id}/share")).data
    page_path = relative(share["public_url"])
    page = await api.get(page_path, anonymous=True)
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.body.decode()
    assert "<script" not in html
    assert "&lt;script&gt;" in html
    assert _meta(html, "og:title") == 'Sunset <script>alert("x")</script> & more'
    assert _meta(html, "og:type") == "website"
    assert _meta(html, "twitter:card") == "summary_large_image"
    og_image = _meta(html, "og:image")
    assert og_image == share["public_url"] + "/image"
    assert og_image.startswith("http")
    picture = await api.get(relative(og_image), anonymous=True)
    assert picture.status == 200
    assert picture.headers["Content-Type"] == "image/png"
    assert PILImage.open(io.BytesIO(picture.body)).size == (256, 256)
    shown = re.search(r'<img src="([^"]+)"', html)
    assert shown
    assert (await api.fetch(unescape(shown.group(1)))).body == picture.body
    await api.rankion.shares.flush_views()  # what the server does every second
    image = await api.image(image_id)
    assert image["share"]["view_count"] == 2
    assert image["share_views"] == 2


async def test_every_way_to_miss_a_share_is_the_same_404(api: Api) -> None:
    image_id = await api.generate()
    path = f"/v1/images/{image_id}/share"
    share = (await api.post(path)).data
    page, image = relative(share["public_url"]), relative(share["public_url"]) + "/image"
    unknown_page = await api.get("/s/" + "A" * 32, anonymous=True)
    assert unknown_page.status == 404
    assert unknown_page.headers["Content-Type"].startswith("text/html")
    unknown_image = await api.get("/s/" + "A" * 32 + "/image", anonymous=True)
    assert unknown_image.status == 404
    for odd in ("/s/x", "/s/%3Cscript%3E", "/s/" + "b" * 300):
        odd_page = await api.get(odd, anonymous=True)
        assert odd_page.body == unknown_page.body

    await api.call("DELETE", f"/v1/images/{image_id}")  # trashed: hidden
    assert (await api.get(page, anonymous=True)).body == unknown_page.body
    assert (await api.get(image, anonymous=True)).body == unknown_image.body
    await api.post(f"/v1/images/{image_id}/restore")  # back again
    assert (await api.get(page, anonymous=True)).status == 200
    await api.post("/v1/images/bulk/delete", {"ids": [image_id]})  # trashed in bulk: at once
    assert (await api.get(page, anonymous=True)).body == unknown_page.body
    await api.post("/v1/images/bulk/restore", {"ids": [image_id]})

    await api.call("PATCH", path, {"expires_at": _future(1)})
    api.clock.advance(timedelta(hours=2))  # expired
    assert (await api.get(page, anonymous=True)).body == unknown_page.body
    api.clock.advance(-timedelta(hours=2))
    assert (await api.get(page, anonymous=True)).status == 200

    await api.call("DELETE", path)  # revoked
    revoked_page = await api.get(page, anonymous=True)
    assert revoked_page.status == 404
    assert revoked_page.body == unknown_page.body
    assert (await api.get(image, anonymous=True)).body == unknown_image.body
    await api.rankion.shares.flush_views()  # what the server does every second
    views = (await api.image(image_id))["share_views"]
    assert views == 2
    renewed = (await api.post(path)).data
    assert renewed["token"] != share["token"] and renewed["view_count"] == 0


async def test_other_teams_share_routes_are_404(api: Api) -> None:
    theirs = await api.generate(api.b)
    await api.post(f"/v1/images/{theirs}/share", team=api.b)
    answers = []
    for image_id in (theirs, 5_555_555):
        path = f"/v1/images/{image_id}/share"
        answers += [
            await api.post(path),
            await api.call("PATCH", path, {"expires_at": None}),
            await api.call("DELETE", path),
        ]
    assert {a.status for a in answers} == {404}
    assert len({a.body for a in answers}) == 1
    assert (await api.image(theirs, team=api.b))["share"] is not None


async def test_open_in_chat(api: Api) -> None:
    image_id = await api.generate()
    opened = await api.post(f"/v1/images/{image_id}/open-in-chat")
    assert opened.status == 201
    session = opened.data
    assert set(session) == {"session_id", "gallery_image_id", "created_at"}
    assert session["gallery_image_id"] == image_id
    assert opened.headers["Location"] == f"/v1/chat/sessions/{session['session_id']}"
    assert (await api.get(opened.headers["Location"])).data == session
    again = await api.post(f"/v1/images/{image_id}/open-in-chat", {})
    assert again.data["session_id"] != session["session_id"]
    assert (await api.post(f"/v1/images/{image_id}/open-in-chat", {"x": 1})).status == 422
    await api.call("DELETE", f"/v1/images/{image_id}")
    trashed = await api.post(f"/v1/images/{image_id}/open-in-chat")
    assert trashed.status == 409
    assert trashed.error["code"] == "image_in_trash"


async def test_chat_sessions_of_other_teams_are_404(api: Api) -> None:
    theirs = await api.generate(api.b)
    session = (await api.post(f"/v1/images/{theirs}/open-in-chat", team=api.b)).data
    a = await api.get(f"/v1/chat/sessions/{session['session_id']}")
    b = await api.get("/v1/chat/sessions/424242")
    c = await api.post(f"/v1/images/{theirs}/open-in-chat")
    assert a.status == b.status == c.status == 404
    assert a.body == b.body  # chat session not found
    assert c.body == (await api.post("/v1/images/424242/open-in-chat")).body  # image


async def test_page_and_image_answer_304_to_their_etag_until_revoked(api: Api) -> None:
    image_id = await api.generate()
    share = (await api.post(f"/v1/images/{image_id}/share")).data
    page, image = relative(share["public_url"]), relative(share["public_url"]) + "/image"
    for path in (page, image):
        first = await api.get(path, anonymous=True)
        assert first.status == 200
        assert first.headers["Cache-Control"] == "no-cache"
        etag = first.headers["ETag"]
        again = await api.get(path, anonymous=True, headers={"If-None-Match": etag})
        assert again.status == 304 and again.body == b""
        other = await api.get(path, anonymous=True, headers={"If-None-Match": '"other"'})
        assert other.status == 200 and other.body == first.body
    await api.rankion.shares.flush_views()
    assert (await api.image(image_id))["share_views"] == 6, "a 304 is a view too"
    await api.call("DELETE", f"/v1/images/{image_id}/share")
    for path in (page, image):
        gone = await api.get(path, anonymous=True, headers={"If-None-Match": "*"})
        assert gone.status == 404


async def test_views_are_written_in_batches_and_kept_when_a_write_fails(api: Api) -> None:
    image_id = await api.generate()
    share = (await api.post(f"/v1/images/{image_id}/share")).data
    page = relative(share["public_url"])
    shares = api.rankion.shares
    for _ in range(5):
        assert (await api.get(page, anonymous=True)).status == 200
    writes = 0
    real = api.rankion.deps.storage.unit_of_work

    def failing() -> object:
        nonlocal writes
        writes += 1
        raise ConnectionError("the database went away")

    api.rankion.deps.storage.unit_of_work = failing  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await shares.flush_views()
    api.rankion.deps.storage.unit_of_work = real  # type: ignore[method-assign]
    assert writes == 1 and shares.tally.pending() == 5
    assert await shares.flush_views() == 5
    assert await shares.flush_views() == 0
    assert (await api.image(image_id))["share"]["view_count"] == 5


async def test_a_range_the_image_cannot_answer_is_416_in_the_envelope(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    """Sent from a local folder, the shared image answers one range of bytes; one it
    cannot is ``416`` with the error envelope and the file's size (it was an empty body
    typed as the image, and the last zero bytes were the whole file); a ``Range`` that
    is not one range of bytes is ignored; conditions come first."""
    api = await start(aiohttp_client, evolve(config(), blobs_url=str(tmp_path / "blobs")))
    image_id = await api.generate()
    share = (await api.post(f"/v1/images/{image_id}/share")).data
    path = relative(share["public_url"]) + "/image"
    whole = await api.get(path, anonymous=True)
    assert whole.status == 200
    size = len(whole.body)
    part = await api.get(path, anonymous=True, headers={"Range": "bytes=0-9"})
    assert (part.status, part.body) == (206, whole.body[:10])
    tail = await api.get(path, anonymous=True, headers={"Range": "bytes=-5"})
    assert (tail.status, tail.body) == (206, whole.body[-5:])
    for wanted in (f"bytes={size}-", "bytes=-0"):
        refused = await api.get(path, anonymous=True, headers={"Range": wanted})
        assert refused.status == 416, wanted
        assert refused.error["code"] == "range_not_satisfiable"
        assert refused.headers["Content-Type"].startswith("application/json")
        assert refused.headers["Content-Range"] == f"bytes */{size}"
    for ignored in ("bytes=abc", "bytes=5-1", "bytes=0-1,4-5", "items=0-1"):
        answer = await api.get(path, anonymous=True, headers={"Range": ignored})
        assert (answer.status, answer.body) == (200, whole.body), ignored
    etag = whole.headers["ETag"]
    for wanted in ("bytes=abc", f"bytes={size}-"):
        fresh = {"Range": wanted, "If-None-Match": etag}
        assert (await api.get(path, anonymous=True, headers=fresh)).status == 304, wanted
