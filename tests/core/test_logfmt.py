"""``kv``: one ``key=value`` line, values quoted when a reader would split them."""

from __future__ import annotations

import pytest

from rankion_core.logfmt import kv


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("GET", "GET"),
        (200, "200"),
        (0.4, "0.4"),
        (None, "None"),
        ("", '""'),
        ("a b", '"a b"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a=b", '"a=b"'),
        ("two\nlines", '"two\\nlines"'),
        ("tab\there", '"tab\there"'),
        ("back\\slash", "back\\slash"),
        ("back\\ slash", '"back\\\\ slash"'),
        ("/v1/images/{id}", "/v1/images/{id}"),
    ],
)
def test_values_are_quoted_when_they_would_split(value: object, written: str) -> None:
    assert kv(key=value) == f"key={written}"


def test_fields_keep_their_order() -> None:
    assert kv(method="GET", status=404, team="-") == "method=GET status=404 team=-"
