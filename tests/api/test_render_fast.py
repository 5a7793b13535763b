"""Image rows rendered straight to plain dicts are exactly what the schema classes say.

The gallery list, the trash list, an image's detail and the single-image answers
(PATCH, restore) render with ``render.image_row``/``render.image_detail_row`` and
``plain=True`` (orjson writes the datetimes and enums itself). Every rendering here
goes through the strict converter into its schema class (``ImageOut``,
``ImageDetailOut``: every field present, of its type, no other key) and back through
the attrs + cattrs path, which must give the very same bytes; and every value of the
structured object is the one of the entity or view field of the same name.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rankion_api.images import ImageDetailOut, ImageOut, ParentOut, VariantOut
from rankion_api.shares import ShareOut
from rankion_core.models import Image, Page, ProcessingStatus, Share
from rankion_core.services import ImageDetail, ImageView, ShareView, VariantView
from rankion_core.services.views import FILES_PREFIX, blob_url
from rankion_core.signing import HmacUrlSigner
from rankion_fsspec import open_blob_store
from rankion_fsspec.local import LocalBackend
from rankion_fsspec.memory import MemoryBackend
from rankion_fsspec.s3 import S3Backend
from rankion_server import render
from rankion_server.convert import structure
from rankion_server.responses import ok, page

# --------------------------------------------------------------------------- the round trip


def _body(response: Any) -> bytes:
    body = response.body
    assert isinstance(body, bytes)
    return body


def round_trip(data: Any, schema: type) -> Any:
    """``data`` (a rendered row, as JSON gives it back) structured strictly into
    ``schema``; rendering that object the attrs + cattrs way gives the same bytes."""
    structured = structure(data, schema)
    assert _body(ok(structured)) == _body(ok(data))
    return structured


def _same(value: Any, expected: Any) -> bool:
    if isinstance(expected, datetime):
        return (
            isinstance(value, datetime) and value == expected and value.utcoffset() == timedelta()
        )
    return bool(value == expected)


def assert_from(out: Any, *sources: Any, schema: type | None = None) -> None:
    """Every field of ``out`` (of ``schema``'s, when given) holds the value of the
    first source with that name."""
    for f in attrs.fields(schema or type(out)):
        source = next(s for s in sources if hasattr(s, f.name))
        expected = getattr(source, f.name)
        value = getattr(out, f.name)
        if f.name == "share":
            assert (value is None) == (expected is None)
            if expected is not None:
                assert_from(value, expected, expected.share)
        else:
            assert _same(value, expected), (f.name, value, expected)


def assert_image(out: ImageOut, view: ImageView) -> None:
    assert_from(out, view, view.image, schema=ImageOut)


def assert_single(view: ImageView) -> None:
    rendered = _body(ok(render.image_row(view), plain=True))
    assert_image(round_trip(orjson.loads(rendered)["data"], ImageOut), view)


def assert_page(views: list[ImageView], total: int | None = None) -> None:
    items = Page(items=views, page=1, per_page=50, total=len(views) if total is None else total)
    rendered = orjson.loads(_body(page(items, render.image_row, plain=True)))
    assert rendered["meta"]["total"] == items.total
    assert len(rendered["data"]) == len(views)
    for data, view in zip(rendered["data"], views, strict=True):
        assert_image(round_trip(data, ImageOut), view)


def assert_detail(detail: ImageDetail) -> None:
    rendered = _body(ok(render.image_detail_row(detail), plain=True))
    out = round_trip(orjson.loads(rendered)["data"], ImageDetailOut)
    assert_image(out, detail.view)
    assert len(out.variants) == len(detail.variants)
    for variant_out, variant in zip(out.variants, detail.variants, strict=True):
        assert_from(variant_out, variant, variant.view, variant.view.image)
    assert len(out.parents) == len(detail.parents)
    for parent_out, parent in zip(out.parents, detail.parents, strict=True):
        assert_from(parent_out, parent, parent.image)


# --------------------------------------------------------------------------- hand-made

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
T1 = datetime(2025, 3, 1, 12, 0, 1, 250_000, tzinfo=UTC)
T2 = datetime(2025, 3, 2, 8, 30, 0, 7, tzinfo=UTC)


def _image(n: int, **changes: Any) -> Image:
    base: dict[str, Any] = {
        "id": n,
        "team_id": 7,
        "prompt": f"a cat number {n}",
        "model": "gpt-image-1",
        "size": "1024x1024",
        "quality": "high",
        "created_at": T0,
        "updated_at": T1,
    }
    return Image(**(base | changes))


def _url(n: int, kind: str = "images") -> str:
    return f"http://localhost/files/{kind}/2025/03/{n:032x}.png?expires=1740830400&sig=ab12"


def _share(n: int, expires_at: datetime | None) -> ShareView:
    share = Share(
        id=n, team_id=7, image_id=n, token=f"tok{n}", created_at=T2, expires_at=expires_at
    )
    return ShareView(share=share, public_url=f"http://localhost/s/tok{n}")


def hand_made() -> list[ImageView]:
    ready: dict[str, Any] = {
        "processing_status": ProcessingStatus.READY,
        "blob_key": "k",
        "width": 1024,
        "height": 768,
        "mime_type": "image/png",
        "bytes": 123_456,
        "credits_charged": 5,
    }
    return [
        ImageView(image=_image(1)),  # queued: no URLs, every optional field None
        ImageView(image=_image(2, processing_status=ProcessingStatus.PROCESSING)),
        ImageView(
            image=_image(3, processing_status=ProcessingStatus.FAILED, error="provider said no")
        ),
        ImageView(image=_image(4, **ready), url=_url(4), thumbnail_url=_url(4, "thumbs")),
        ImageView(image=_image(5, **ready), url=_url(5)),  # no thumbnail
        ImageView(
            image=_image(
                6,
                **ready,
                title='Hero «ünïcode» \u2028 "quoted" \\ back',
                tags=["Launch", "cats", "日本"],
                is_favorite=True,
                project_id=3,
                article_id=99,
                slot="hero",
                background="transparent",
                output_format="webp",
                share_views=12,
            ),
            url=_url(6),
            thumbnail_url=_url(6, "thumbs"),
            share=_share(6, expires_at=None),
        ),
        ImageView(
            image=_image(7, **ready, share_views=1),
            url=_url(7),
            thumbnail_url=_url(7, "thumbs"),
            share=_share(7, expires_at=T2 + timedelta(days=7)),
        ),
        ImageView(  # an edit: parent, root, session, edited_at
            image=_image(8, **ready, parent_id=4, root_id=4, edit_session_id=2, edited_at=T2),
            url=_url(8),
            thumbnail_url=_url(8, "thumbs"),
        ),
        ImageView(  # trashed, with its purge date
            image=_image(
                9, **ready, deleted_at=T2, purge_at=T2 + timedelta(days=30, microseconds=1)
            ),
            url=_url(9),
            thumbnail_url=_url(9, "thumbs"),
        ),
        ImageView(  # extremes of the datetime range, and times in equivalent UTC zones
            image=_image(
                10,
                created_at=datetime(1, 1, 1, tzinfo=UTC),
                updated_at=datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
                edited_at=datetime(2025, 1, 1, tzinfo=ZoneInfo("UTC")),
                deleted_at=datetime(2025, 1, 1, 0, 0, 0, 10, tzinfo=timezone(timedelta(0))),
                credits_charged=-3,
                id=2**63 - 1,
            )
        ),
    ]


def test_a_hand_made_page_round_trips() -> None:
    views = hand_made()
    assert_page(views, total=1234)
    assert_page([])
    for view in views:
        assert_single(view)


def test_a_hand_made_detail_round_trips() -> None:
    views = hand_made()
    root, *rest = views
    detail = ImageDetail(
        view=views[7],
        variants=[VariantView(view=v, depth=d) for d, v in enumerate(rest, start=1)],
        parents=[views[3], root, views[8]],
    )
    assert_detail(detail)
    assert_detail(ImageDetail(view=root))  # no variants, no parents


def test_datetimes_keep_the_iso_z_format() -> None:
    view = hand_made()[9]
    row = orjson.loads(_body(ok(render.image_row(view), plain=True)))["data"]
    assert row["created_at"] == "0001-01-01T00:00:00Z"
    assert row["updated_at"] == "9999-12-31T23:59:59.999999Z"
    assert row["edited_at"] == "2025-01-01T00:00:00Z"
    assert row["deleted_at"] == "2025-01-01T00:00:00.000010Z"
    assert row["processing_status"] == "queued"


# --------------------------------------------------------------------------- one field list


def _names(cls: type) -> list[str]:
    return [f.name for f in attrs.fields(cls)]


def test_the_rows_carry_exactly_the_schema_fields_in_order() -> None:
    views = hand_made()
    shared = views[5]
    assert shared.share is not None
    assert list(render.image_row(shared)) == _names(ImageOut)
    assert list(render.share_row(shared.share)) == _names(ShareOut)
    assert list(render.parent_row(shared)) == _names(ParentOut)
    assert list(render.variant_row(VariantView(view=shared, depth=1))) == _names(VariantOut)
    detail = ImageDetail(view=shared, variants=[VariantView(shared, 1)], parents=[shared])
    assert list(render.image_detail_row(detail)) == _names(ImageDetailOut)


# --------------------------------------------------------------------------- generated

utc_zones = st.sampled_from([UTC, ZoneInfo("UTC"), timezone(timedelta(0))])
any_time = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999_999)
)
times = st.one_of(any_time, any_time.map(lambda t: t.replace(microsecond=0))).flatmap(
    lambda t: utc_zones.map(lambda zone: t.replace(tzinfo=zone))
)
#: any text a request may hold (the round trip reads an answer back with the request
#: bodies' converter, which refuses NUL)
texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=30)
ids = st.integers(min_value=1, max_value=2**63 - 1)
small = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


shares = st.builds(
    ShareView,
    share=st.builds(
        Share,
        id=ids,
        team_id=ids,
        image_id=ids,
        token=texts,
        created_at=times,
        expires_at=_maybe(times),
        revoked_at=_maybe(times),
        view_count=small,
    ),
    public_url=texts,
)

images = st.builds(
    Image,
    id=ids,
    team_id=ids,
    prompt=texts,
    model=texts,
    size=texts,
    quality=texts,
    created_at=times,
    updated_at=times,
    project_id=_maybe(ids),
    article_id=_maybe(ids),
    slot=_maybe(texts),
    title=_maybe(texts),
    background=_maybe(texts),
    output_format=texts,
    tags=st.lists(texts, max_size=5),
    is_favorite=st.booleans(),
    processing_status=st.sampled_from(ProcessingStatus),
    error=_maybe(texts),
    width=_maybe(small),
    height=_maybe(small),
    mime_type=_maybe(texts),
    bytes=_maybe(small),
    parent_id=_maybe(ids),
    root_id=_maybe(ids),
    edit_session_id=_maybe(ids),
    credits_charged=small,
    share_views=small,
    edited_at=_maybe(times),
    deleted_at=_maybe(times),
    purge_at=_maybe(times),
)

views = st.builds(
    ImageView, image=images, url=_maybe(texts), thumbnail_url=_maybe(texts), share=_maybe(shares)
)


@given(st.lists(views, max_size=20), st.integers(min_value=0, max_value=10**6))
def test_any_page_round_trips(page_views: list[ImageView], total: int) -> None:
    assert_page(page_views, total)


@given(views)
def test_any_single_image_round_trips(view: ImageView) -> None:
    assert_single(view)


@given(
    views,
    st.lists(st.tuples(views, st.integers(min_value=1, max_value=50)), max_size=8),
    st.lists(views, max_size=5),
)
def test_any_detail_round_trips(
    view: ImageView, variants: list[tuple[ImageView, int]], parents: list[ImageView]
) -> None:
    detail = ImageDetail(
        view=view,
        variants=[VariantView(view=v, depth=depth) for v, depth in variants],
        parents=parents,
    )
    assert_detail(detail)


# --------------------------------------------------------------------------- presign


def test_local_and_memory_stores_say_they_never_presign_s3_ones_do(tmp_path: Any) -> None:
    assert MemoryBackend.presigns is False
    assert LocalBackend.presigns is False
    assert S3Backend.presigns is True
    assert open_blob_store("memory://render-fast").presigns is False
    assert open_blob_store(f"file://{tmp_path}").presigns is False


class _Store:
    """A blob store stand-in that counts ``presign`` calls; ``presigns`` is set only
    when given (a store without the attribute is asked, as before)."""

    def __init__(self, answer: str | None, **presigns: bool) -> None:
        self.answer = answer
        self.calls = 0
        self.__dict__.update(presigns)

    def presign(self, key: str, *, expires_at: datetime, filename: str | None = None) -> str | None:
        self.calls += 1
        return self.answer


@attrs.define
class _Deps:
    blobs: Any
    signer: HmacUrlSigner


KEY = "images/2025/03/" + "a" * 32 + ".png"
EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)


def _blob_url(store: _Store, signer: HmacUrlSigner) -> str:
    return blob_url(_Deps(store, signer), KEY, EXPIRES)  # type: ignore[arg-type]


def test_blob_url_skips_presign_on_a_store_that_never_presigns() -> None:
    signer = HmacUrlSigner(b"s" * 32, "http://localhost")
    signed = signer.sign(FILES_PREFIX + KEY, EXPIRES)

    never = _Store(answer="http://should-not-be-used", presigns=False)
    assert _blob_url(never, signer) == signed
    assert never.calls == 0

    presigning = _Store(answer="https://bucket.example/k?X-Amz-Signature=1", presigns=True)
    assert _blob_url(presigning, signer) == presigning.answer
    assert presigning.calls == 1

    unknown = _Store(answer=None)  # a plug-in store or a test fake without the attribute
    assert _blob_url(unknown, signer) == signed
    assert unknown.calls == 1


def test_a_schema_field_no_entity_or_view_holds_fails_at_import() -> None:
    @attrs.define
    class RowOut:
        id: int
        nowhere: int

    with pytest.raises(TypeError, match=r"RowOut\.nowhere is neither on Image"):
        render._row(RowOut, Image, ())
    with pytest.raises(TypeError, match="has no field"):
        render._row(RowOut, Image, ("nowhere", "elsewhere"))
