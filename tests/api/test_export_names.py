"""Export safety: whatever the titles, ZIP entry names are plain, short and distinct."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from rankion_core.models import Image
from rankion_core.services.exports import entry_name

from .conftest import Api

SAFE = re.compile(r"^[A-Za-z0-9._-]{1,120}$")
TITLES = [
    "../../etc/passwd",
    "/absolute/path",
    "..\\..\\windows\\system32",
    "control\x01byte",  # (NUL is refused at the door: test_nul.py)
    "x" * 200,
    "\uff33\uff55\uff4e\uff53\uff45\uff54",  # fullwidth look-alikes
    "\uff33unset",
    "Sunset",
    "Sunset",  # a duplicate
    "...",
    "-",
    "\u210c\U0001d522\U0001d529\U0001d529\U0001d52c \u202eevil\u202c",
    "🙂🙂",
    "CON",
]


async def test_dangerous_titles_make_safe_distinct_entries(api: Api) -> None:
    ids = [await api.generate(title=title) for title in TITLES]
    ids.append(await api.generate(prompt="p" * 300))  # no title: the 300-char prompt
    started = await api.post("/v1/images/bulk/export", {"ids": ids})
    await api.run_jobs()
    ready = (await api.get(started.headers["Location"])).data
    assert ready["status"] == "ready", ready
    archive = zipfile.ZipFile(io.BytesIO((await api.fetch(ready["download_url"])).body))
    names = [n for n in archive.namelist() if n != "manifest.json"]
    assert len(names) == len(ids) == len(set(names))
    assert all(SAFE.fullmatch(name) for name in names), names


@given(st.text(max_size=400), st.integers(min_value=1, max_value=2**63 - 1))
def test_entry_names_are_safe_for_any_text(title: str, image_id: int) -> None:
    now = datetime.now(UTC)
    image = Image(
        id=image_id,
        team_id=1,
        prompt="p",
        model="m",
        size="1x1",
        quality="auto",
        created_at=now,
        updated_at=now,
        title=title,
        mime_type="image/png",
    )
    assert SAFE.fullmatch(entry_name(image))
