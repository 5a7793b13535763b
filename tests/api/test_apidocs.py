"""``/docs``: Swagger UI served from this server's own files, no CDN."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest

from .conftest import Api


async def test_the_page_loads_only_local_assets(api: Api) -> None:
    answer = await api.get("/docs", anonymous=True)
    assert answer.status == 200
    html = answer.body.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    # relative, so the page works under a mount's prefix too; all resolve to this server
    assert not any(s.startswith("/") or "://" in s for s in sources), sources
    resolved = {urljoin("http://h/rankion/docs", s) for s in sources}
    assert all(u.startswith("http://h/rankion/docs/assets/") for u in resolved if "v1" not in u)
    assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
    assert "<script>" not in html  # no inline script: the CSP forbids it


@pytest.mark.parametrize(
    ("name", "media"),
    [
        ("swagger-ui-bundle.js", "javascript"),
        ("swagger-ui.css", "text/css"),
        ("favicon-32x32.png", "image/png"),
        ("rankion-docs.js", "javascript"),
    ],
)
async def test_every_asset_the_page_names_is_served(api: Api, name: str, media: str) -> None:
    answer = await api.get(f"/docs/assets/{name}", anonymous=True)
    assert answer.status == 200
    assert media in answer.headers["Content-Type"]
    assert answer.headers["Cache-Control"].startswith("public")
    assert len(answer.body) > 100


async def test_the_viewer_is_swagger_ui_5_which_reads_openapi_3_1(api: Api) -> None:
    bundle = (await api.get("/docs/assets/swagger-ui-bundle.js", anonymous=True)).body
    assert re.search(rb'"5\.\d+\.\d+"', bundle)


@pytest.mark.parametrize(
    "name", ["index.html", "swagger-editor.js", "..%2Fapp.py", "LICENSE", "oauth2-redirect.html"]
)
async def test_only_named_assets_are_served(api: Api, name: str) -> None:
    answer = await api.get(f"/docs/assets/{name}", anonymous=True)
    missing = await api.get("/docs/assets/none.js", anonymous=True)
    assert (answer.status, answer.body) == (404, missing.body)
    assert missing.json["error"]["message"] == "asset not found"
