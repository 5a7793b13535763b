"""``/docs``: Swagger UI served from this server's own files, no CDN."""

from __future__ import annotations

import re

import pytest

from .conftest import Api


async def test_the_page_loads_only_local_assets(api: Api) -> None:
    answer = await api.get("/docs", anonymous=True)
    assert answer.status == 200
    html = answer.body.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(s.startswith("/") and not s.startswith("//") for s in sources), sources
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
