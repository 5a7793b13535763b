"""Field limits and tag normalisation."""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import Invalid
from . import limits

#: what ``str.isspace`` (and so ``str.strip``) counts as white space, as the body of a
#: regex character class. Spelled out because a JSON Schema pattern is read as ECMA-262,
#: whose ``\s`` is not Python's: it leaves out U+001C..U+001F and U+0085 and takes U+FEFF.
#: Both engines read this class alike.
WHITE_SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: "not blank" as a JSON Schema pattern: at least one character that trimming keeps
NOT_BLANK = f"[^{WHITE_SPACE}]"


#: the one character no text may hold: PostgreSQL's ``text`` cannot store it (SQLite's
#: could, and the backends agree), and no title, name or prompt needs it
NUL = "\x00"
NUL_REFUSED = "must not contain the NUL character (U+0000)"


def check_length(field: str, value: str, *, low: int, high: int) -> str:
    if not low <= len(value) <= high:
        raise Invalid(
            f"{field} must be {low}..{high} characters",
            details={field: f"length must be between {low} and {high}"},
        )
    return value


def title(value: str | None) -> str | None:
    """Limits apply to the text as sent (as documented), emptiness after trimming."""
    if value is None:
        return None
    return check_length("title", value, low=0, high=limits.TITLE_MAX).strip() or None


def required_title(value: str) -> str:
    return required("title", value, limits.TITLE_MAX)


def required(field: str, value: str, high: int) -> str:
    """1..``high`` characters as sent, and not blank; trimmed."""
    check_length(field, value, low=1, high=high)
    return check_length(field, value.strip(), low=1, high=high)


def prompt(value: str) -> str:
    if not value.strip():
        raise Invalid("prompt must not be blank", details={"prompt": "must not be blank"})
    return check_length("prompt", value, low=1, high=limits.PROMPT_MAX)


def normalize_tags(tags: Iterable[str]) -> list[str]:
    """Trim, drop case-insensitive duplicates (first spelling wins, order kept).

    An empty tag, a tag over 50 characters or more than 20 tags is ``Invalid``.
    """
    out: list[str] = []
    seen: set[str] = set()
    for raw in tags:
        tag = raw.strip()
        if not tag:
            raise Invalid("a tag must not be empty", details={"tags": "empty tag"})
        if len(raw) > limits.TAG_MAX:
            raise Invalid(
                f"a tag is at most {limits.TAG_MAX} characters",
                details={"tags": f"tag longer than {limits.TAG_MAX} characters"},
            )
        key = tag.casefold()
        if key not in seen:
            seen.add(key)
            out.append(tag)
    if len(out) > limits.TAGS_MAX:
        raise Invalid(
            f"at most {limits.TAGS_MAX} tags",
            details={"tags": f"more than {limits.TAGS_MAX} tags"},
        )
    return out


def tag_key(tag: str) -> str:
    """How tags compare in filters: case-insensitively."""
    return tag.strip().casefold()
