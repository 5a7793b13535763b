"""The pure token rules: lifetime, expiry at the instant, when a use is noted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rankion_core.errors import Invalid
from rankion_core.models import ApiToken
from rankion_core.rules import tokens

NOW = datetime(2026, 5, 15, 9, 0, tzinfo=UTC)


def _token(**fields: object) -> ApiToken:
    return ApiToken(1, 1, 1, "ab", "d", NOW, **fields)  # type: ignore[arg-type]


def test_a_lifetime_gives_an_expiry_and_none_gives_none() -> None:
    assert tokens.expiry(NOW, timedelta(days=1.5)) == NOW + timedelta(hours=36)
    assert tokens.expiry(NOW, None) is None


@pytest.mark.parametrize("lifetime", [timedelta(0), timedelta(seconds=-1), timedelta(days=3651)])
def test_a_bad_lifetime_is_invalid(lifetime: timedelta) -> None:
    with pytest.raises(Invalid) as raised:
        tokens.expiry(NOW, lifetime)
    assert "expires_in" in (raised.value.details or {})


def test_a_token_stops_admitting_at_its_expiry_instant() -> None:
    assert tokens.admits(_token(), NOW + timedelta(days=10_000))
    lasting = _token(expires_at=NOW + timedelta(seconds=1))
    assert tokens.admits(lasting, NOW)
    assert not tokens.admits(lasting, NOW + timedelta(seconds=1))


def test_a_use_is_noted_once_a_minute() -> None:
    assert tokens.needs_touch(_token(), NOW)
    seen = _token(last_used_at=NOW)
    assert not tokens.needs_touch(seen, NOW + timedelta(seconds=59))
    assert tokens.needs_touch(seen, NOW + timedelta(minutes=1))
