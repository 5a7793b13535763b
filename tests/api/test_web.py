"""The web app's server side: sign-in and the session cookie, CSRF on every write, the
404 page, the CSP, asset caching and the gallery's first-load weight."""

from __future__ import annotations

import re
from datetime import timedelta
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

import pytest

from rankion_server.keys import CONFIG, TOKEN_CACHE
from rankion_server.render import counted
from rankion_server.web.pages import return_path
from rankion_server.web.session import SESSION_MAX_AGE

from .conftest import Api

FIRST_LOAD_MAX = 150 * 1024


async def sign_in(api: Api, token: str | None = None) -> str:
    """The session cookie's value after signing in with ``token`` (team a's)."""
    async with api.client.post(
        "/app/sign-in", data={"token": token or api.a.token}, allow_redirects=False
    ) as resp:
        assert resp.status == 303, await resp.text()
        assert resp.headers["Location"] == "/app"
        cookie = SimpleCookie(resp.headers["Set-Cookie"])["rankion_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
    assert cookie["path"] == "/"
    api.client.session.cookie_jar.clear()
    return cookie.value


async def page(api: Api, path: str, cookie: str | None) -> tuple[int, str, dict[str, str]]:
    headers = {"Cookie": f"rankion_session={cookie}"} if cookie else {}
    async with api.client.get(path, headers=headers, allow_redirects=False) as resp:
        return resp.status, await resp.text(), dict(resp.headers)


def csrf_of(html: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert found is not None
    return found.group(1)


async def test_front_door_and_sign_in(api: Api) -> None:
    status, _, headers = await page(api, "/", None)
    assert (status, headers["Location"]) == (303, "/app/sign-in")
    status, _, headers = await page(api, "/app", None)
    assert (status, headers["Location"]) == (303, "/app/sign-in")
    cookie = await sign_in(api)
    assert api.a.token not in cookie
    status, _, headers = await page(api, "/", cookie)
    assert (status, headers["Location"]) == (303, "/app")
    status, html, headers = await page(api, "/app", cookie)
    assert status == 200 and 'Credits: <b id="balance">1000</b>' in html
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe" not in headers["Content-Security-Policy"]
    assert "<script>" not in html and " style=" not in html and " on" + "click=" not in html


async def test_signing_in_goes_back_to_the_page_asked_for(api: Api) -> None:
    asked = "/app/projects/1/calendar?month=2026-12"
    for where in (asked, "/app/images/7", "/app/trash?page=2"):
        status, _, headers = await page(api, where, None)
        sign_in_page, query = headers["Location"].split("?", 1)
        assert (status, sign_in_page, parse_qs(query)) == (303, "/app/sign-in", {"next": [where]})
    async with api.client.post(
        "/app/sign-in", params={"next": asked}, data={"token": api.a.token}, allow_redirects=False
    ) as resp:
        assert (resp.status, resp.headers["Location"]) == (303, asked)
    api.client.session.cookie_jar.clear()
    # a bad token: the form again, which posts to the same URL (the next kept)
    async with api.client.post(
        "/app/sign-in", params={"next": asked}, data={"token": "rk_nope"}
    ) as resp:
        assert resp.status == 401 and 'action="' not in await resp.text()


@pytest.mark.parametrize(
    "where",
    [
        "https://evil.example/app/",
        "//evil.example/app/",
        "/\\evil.example",
        "/app\\..\\..\\x",
        "/appx",
        "/app//evil.example",
        "/app/../v1/credits",
        "/app/%2e%2e/v1/credits",
        "/app/./images/1",
        "/v1/credits",
        "/app/sign-in",
        "/app/sign-out",
        "/app/images/1#frag",
        "/app/images/1\r\nSet-Cookie: x=1",
        "/app/images/%0d%0a",
        '/app/images/"><script>',
        "javascript:alert(1)",
        "/app/" + "a" * 2000,
    ],
)
async def test_signing_in_goes_nowhere_but_an_app_page(api: Api, where: str) -> None:
    assert return_path(where) is None
    async with api.client.post(
        "/app/sign-in", params={"next": where}, data={"token": api.a.token}, allow_redirects=False
    ) as resp:
        assert (resp.status, resp.headers["Location"]) == (303, "/app")


async def test_a_bad_token_is_refused_with_the_form_again(api: Api) -> None:
    async with api.client.post("/app/sign-in", data={"token": "rk_nope"}) as resp:
        assert resp.status == 401
        assert "That token is not valid" in await resp.text()
        assert "Set-Cookie" not in resp.headers
    async with api.client.post(
        "/app/sign-in",
        data={"token": api.a.token},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    ) as resp:
        assert resp.status == 401  # a cross-site form cannot sign anyone in


async def test_the_cookie_is_secure_behind_https(api: Api) -> None:
    api.client.app[CONFIG].public_url = "https://rankion.example"
    async with api.client.post(
        "/app/sign-in", data={"token": api.a.token}, allow_redirects=False
    ) as resp:
        assert SimpleCookie(resp.headers["Set-Cookie"])["rankion_session"]["secure"]


async def test_api_writes_need_the_csrf_token(api: Api) -> None:
    cookie = await sign_in(api)
    _, html, _ = await page(api, "/app", cookie)
    csrf = csrf_of(html)
    image = await api.generate()
    path = f"/v1/images/{image}/favorite"
    jar = {"Cookie": f"rankion_session={cookie}"}
    refused = await api.post(path, anonymous=True, headers=jar)
    assert (refused.status, refused.error["code"]) == (403, "csrf_failed")
    wrong = await api.post(path, anonymous=True, headers=jar | {"X-CSRF-Token": "x" * 43})
    assert wrong.status == 403
    done = await api.post(path, anonymous=True, headers=jar | {"X-CSRF-Token": csrf})
    assert done.status == 200 and done.data["is_favorite"] is True
    read = await api.get(f"/v1/images/{image}", anonymous=True, headers=jar)
    assert read.status == 200  # reads need no CSRF token
    # another team's image through the session: the same 404 as a missing one
    theirs = await api.generate(api.b)
    foreign = await api.get(f"/v1/images/{theirs}", anonymous=True, headers=jar)
    missing = await api.get("/v1/images/999999", anonymous=True, headers=jar)
    assert foreign.status == 404 and foreign.body == missing.body


async def test_sign_out_needs_the_csrf_token_and_ends_the_session(api: Api) -> None:
    cookie = await sign_in(api)
    _, html, _ = await page(api, "/app", cookie)
    headers = {"Cookie": f"rankion_session={cookie}"}
    async with api.client.post(
        "/app/sign-out", data={"csrf": "forged"}, headers=headers, allow_redirects=False
    ) as resp:
        assert resp.status == 403
    async with api.client.post(
        "/app/sign-out", data={"csrf": csrf_of(html)}, headers=headers, allow_redirects=False
    ) as resp:
        assert resp.status == 303 and resp.headers["Location"] == "/app/sign-in"
        assert 'rankion_session=""' in resp.headers["Set-Cookie"]


async def test_revoking_the_token_ends_its_sessions(api: Api) -> None:
    issued = await api.rankion.accounts.create_token(api.a.id)
    cookie = await sign_in(api, issued.secret)
    assert (await page(api, "/app", cookie))[0] == 200
    await api.rankion.accounts.revoke_token(None, issued.token.id)
    api.client.app[TOKEN_CACHE].clear()  # as every process does within its cache's TTL
    status, _, headers = await page(api, "/app", cookie)
    assert (status, headers["Location"]) == (303, "/app/sign-in")
    answer = await api.get(
        "/v1/credits", anonymous=True, headers={"Cookie": f"rankion_session={cookie}"}
    )
    assert answer.status == 401


async def test_a_session_expires_and_a_forged_one_is_refused(api: Api) -> None:
    cookie = await sign_in(api)
    token_id, issued, seal = cookie.split(".")
    forged = f"{token_id}.{int(issued) + 1}.{seal}"
    assert (await page(api, "/app", forged))[0] == 303
    api.clock.advance(timedelta(seconds=SESSION_MAX_AGE + 1))
    assert (await page(api, "/app", cookie))[0] == 303


async def test_another_teams_image_is_the_404_page(api: Api) -> None:
    cookie = await sign_in(api)
    theirs = await api.generate(api.b)
    foreign = await page(api, f"/app/images/{theirs}", cookie)
    missing = await page(api, "/app/images/999999", cookie)
    nowhere = await page(api, "/app/no/such/page", cookie)
    assert foreign[0] == missing[0] == nowhere[0] == 404
    assert foreign[1] == missing[1] == nowhere[1]
    assert "Content-Security-Policy" in foreign[2]


async def test_pages_render_with_data(api: Api) -> None:
    cookie = await sign_in(api)
    image = await api.generate(title="Lighthouse", tags=["hero"])
    edited = await api.edit(image)
    await api.run_jobs()
    variant = edited.data["image_id"]
    status, html, _ = await page(api, f"/app/images/{variant}", cookie)
    assert status == 200
    assert f'href="/app/images/{image}"' in html and 'aria-current="page"' in html
    await api.call("DELETE", f"/v1/images/{image}")
    status, html, _ = await page(api, "/app/trash", cookie)
    assert status == 200 and "30 days left" in html
    status, html, _ = await page(api, "/app?sort=bogus", cookie)
    assert status == 422 and "sort" in html  # the API's own message


def test_a_count_agrees_with_its_number() -> None:
    assert [counted(n, "day") for n in (0, 1, 2, 30)] == ["0 days", "1 day", "2 days", "30 days"]


async def test_a_bad_filter_is_said_once(api: Api) -> None:
    cookie = await sign_in(api)
    tags = "&".join(f"tags[]=t{n}" for n in range(21))
    status, html, _ = await page(api, f"/app?{tags}", cookie)
    assert status == 422
    (alert,) = re.findall(r'<p class="error" role="alert">([^<]+)</p>', html)
    assert alert.count("at most 20 tags") == 1, alert


async def test_first_load_of_the_gallery_is_light(api: Api) -> None:
    for n in range(30):  # more than a page
        await api.generate(run=n % 10 == 9, prompt=f"picture {n}")
    cookie = await sign_in(api)
    _, html, _ = await page(api, "/app", cookie)
    total = len(html.encode())
    for path in re.findall(r'(?:src|href)="(/app/static/[^"]+)"', html):
        async with api.client.get(path) as resp:
            assert resp.status == 200
            assert "immutable" in resp.headers["Cache-Control"]
            total += len(await resp.read())
    for module in ("api.js",):  # imported by gallery.js
        async with api.client.get(f"/app/static/{module}") as resp:
            total += len(await resp.read())
    assert total <= FIRST_LOAD_MAX, total
