"""Property tests of the smaller pure rules: tags, bulk, shares, idempotency, signing."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rankion_core.errors import Conflict, Invalid, LimitExceeded
from rankion_core.models import IdempotencyRecord, Image
from rankion_core.rules import bulk, feeds, idempotency, shares, text, tokens, trash
from rankion_core.signing import HmacUrlSigner, url_expiry

NOW = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
tag = st.text(min_size=1, max_size=50).filter(lambda t: t.strip())


@given(st.lists(tag, max_size=40))
def test_tags_are_trimmed_and_deduplicated_case_insensitively(tags: list[str]) -> None:
    keys = list(dict.fromkeys(t.strip().casefold() for t in tags))
    if len(keys) > 20:
        with pytest.raises(Invalid):
            text.normalize_tags(tags)
        return
    out = text.normalize_tags(tags)
    assert [t.casefold() for t in out] == keys  # order kept, first spelling wins
    assert all(t == t.strip() for t in out)
    first = {}
    for t in tags:
        first.setdefault(t.strip().casefold(), t.strip())
    assert out == [first[k] for k in keys]


@pytest.mark.parametrize("bad", [[""], ["  "], ["x" * 51]])
def test_bad_tags_are_invalid(bad: list[str]) -> None:
    with pytest.raises(Invalid):
        text.normalize_tags(bad)


@given(
    st.lists(st.integers(min_value=-5, max_value=10_000), max_size=600), st.sampled_from([200, 500])
)
def test_bulk_ids_all_or_nothing(ids: list[int], limit: int) -> None:
    if not ids:
        with pytest.raises(Invalid):
            bulk.check_ids(ids, limit)
    elif len(ids) > limit:
        with pytest.raises(LimitExceeded) as caught:
            bulk.check_ids(ids, limit)
        assert caught.value.code == "bulk_limit_exceeded"
    elif any(i < 1 for i in ids):
        with pytest.raises(Invalid):
            bulk.check_ids(ids, limit)
    else:
        assert bulk.check_ids(ids, limit) == list(dict.fromkeys(ids))


def test_share_tokens_carry_at_least_128_bits() -> None:
    tokens = {shares.new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(t) * 6 >= 128 for t in tokens)


@given(st.integers(min_value=-10_000, max_value=10_000))
def test_share_expiry_must_lie_in_the_future(seconds: int) -> None:
    at = NOW + timedelta(seconds=seconds)
    if seconds <= 0:
        with pytest.raises(Invalid):
            shares.check_expiry(at, NOW)
    else:
        share = shares.new_share(team_id=1, image_id=1, now=NOW, expires_at=at)
        assert shares.is_active(share, NOW)
        assert not shares.is_active(share, at)
        shares.revoke(share, NOW)
        assert not shares.is_active(share, NOW)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3)
    ),
    max_leaves=8,
)


@given(body=st.dictionaries(st.text(max_size=5), json_values, max_size=5), other=json_values)
def test_idempotency_same_request_replays_and_a_different_one_is_refused(
    body: dict, other: object
) -> None:
    fp = idempotency.fingerprint("POST", "/v1/generate/image", body)
    reordered = dict(reversed(list(body.items())))
    assert idempotency.fingerprint("post", "/v1/generate/image", reordered) == fp
    record = IdempotencyRecord(team_id=1, key="k", fingerprint=fp, created_at=NOW, completed=True)
    assert idempotency.decide(record, fp, NOW) is idempotency.Decision.REPLAY
    # a key the body cannot hold (its keys have at most 5 characters): truly different
    different = idempotency.fingerprint("POST", "/v1/generate/image", {**body, "\x00" * 6: other})
    with pytest.raises(Invalid) as caught:
        idempotency.decide(record, different, NOW)
    assert caught.value.code == "idempotency_key_reused"
    assert (
        idempotency.decide(record, different, NOW + timedelta(hours=24))
        is idempotency.Decision.FRESH
    )
    record.completed = False
    with pytest.raises(Conflict) as conflict:
        idempotency.decide(record, fp, NOW + timedelta(minutes=4))
    assert conflict.value.code == "idempotency_key_in_flight"
    # a request that never finished (its process died) frees the key after a while
    assert idempotency.decide(record, fp, NOW + timedelta(minutes=5)) is idempotency.Decision.FRESH


@given(
    st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )
)
def test_signed_urls_last_at_least_an_hour_and_verify(now: datetime) -> None:
    signer = HmacUrlSigner(b"k" * 32, "http://h")
    expires = url_expiry(now)
    assert timedelta(hours=1) <= expires - now < timedelta(hours=2)
    url = signer.sign("/files/images/a.png", expires)
    query = dict(part.split("=") for part in url.split("?", 1)[1].split("&"))
    assert signer.verify("/files/images/a.png", query["expires"], query["sig"], now)
    assert not signer.verify("/files/images/b.png", query["expires"], query["sig"], now)
    assert not signer.verify(
        "/files/images/a.png", query["expires"], query["sig"], expires + timedelta(seconds=1)
    )


def test_only_a_trashed_image_whose_time_is_up_is_due_for_purge() -> None:
    image = Image(1, 1, "p", "m", "256x256", "auto", created_at=NOW, updated_at=NOW)
    assert not trash.purge_due(image, NOW + timedelta(days=365))
    assert trash.soft_delete(image, NOW)
    assert image.purge_at is not None
    assert not trash.purge_due(image, image.purge_at - timedelta(seconds=1))
    assert trash.purge_due(image, image.purge_at)
    image.deleted_at = None  # a stale purge date on a restored image is not enough
    assert not trash.purge_due(image, image.purge_at)


def test_a_secret_from_a_url_is_looked_up_only_in_the_shape_token_urlsafe_makes() -> None:
    made = secrets.token_urlsafe(24)
    assert tokens.url_safe(made, 16, 128)
    for odd in ("é" * 20, "a\x00" * 10, "a b" * 8, "x" * 15, "x" * 129, "ab+/cd" * 4):
        assert not tokens.url_safe(odd, 16, 128), odd
    assert feeds.plausible("rkf_" + secrets.token_urlsafe(32))
    assert not feeds.plausible("rkf_" + "é" * 40)
