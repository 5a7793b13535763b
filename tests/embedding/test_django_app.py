"""``examples/django_app``: sync Django views over Rankion through ``SyncRankion``, on
SQLite and a blob folder, its worker pool on the facade's loop. Driven with Django's
test client, then as a real WSGI app behind a threaded ``wsgiref`` server with many
requests at once; at the end the facade closes and leaves no thread behind."""

from __future__ import annotations

import io
import json
import os
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from socketserver import ThreadingMixIn
from types import ModuleType
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from PIL import Image as PILImage

from tests.e2e.support import TIMEOUTS, free_port
from tests.embedding.support import EXAMPLES

SECRET = "a test secret of 16 bytes or more"
#: requests the WSGI server gets at once (each its own thread there)
AT_ONCE = 8


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def django_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ModuleType, int]]:
    """The example's ``urls`` module (its facade opened), and the port it will serve."""
    port = free_port()
    data = tmp_path_factory.mktemp("django-gallery")
    before = set(threading.enumerate())
    env = {
        "DJANGO_SETTINGS_MODULE": "django_app.settings",
        "GALLERY_DATA": str(data),
        "GALLERY_URL": f"http://127.0.0.1:{port}",
        "GALLERY_SECRET": SECRET,
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    sys.path.insert(0, str(EXAMPLES))
    try:
        import django

        django.setup()
        from django_app import urls

        yield urls, port
        urls.core.close()
        assert not urls.core.thread.is_alive()
        deadline = time.monotonic() + 10
        while (extra := set(threading.enumerate()) - before) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert extra == set()  # no thread left: the loop, the workers, SQLite's, all gone
    finally:
        sys.path.remove(str(EXAMPLES))
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def teams(urls: ModuleType, *names: str) -> list[int]:
    """Teams made through the facade (a Django app's sign-up or management command)."""
    return [urls.core.call(urls.rankion.accounts.create_team, n, 100).id for n in names]


def picture(body: bytes) -> str:
    with PILImage.open(io.BytesIO(body)) as opened:
        opened.load()
        return str(opened.format)


def wait_ready(fetch: Any, image_id: int) -> dict[str, Any]:
    """``fetch(path) -> (status, body)`` until the image is ready."""
    deadline = time.monotonic() + 60
    while True:
        status, body = fetch(f"/images/{image_id}")
        assert status == 200, body
        shown: dict[str, Any] = json.loads(body)
        assert shown["status"] != "failed", shown
        if shown["status"] == "ready":
            return shown
        assert time.monotonic() < deadline, shown
        time.sleep(0.1)


def test_django_test_client(django_app: tuple[ModuleType, int]) -> None:
    from django.test import Client

    urls, _port = django_app
    acme, globex = teams(urls, "acme", "globex")
    client = Client(headers={"X-Team": str(acme)})
    rival = Client(headers={"X-Team": str(globex)})

    def body_of(response: Any) -> bytes:
        if response.streaming:
            body = b"".join(response.streaming_content)
            response.close()
            return body
        return bytes(response.content)

    def fetch(path: str, who: Client = client) -> tuple[int, bytes]:
        response = who.get(path)
        return response.status_code, body_of(response)

    made = client.post("/images", {"prompt": "a harbour", "size": "256x256"}, "application/json")
    assert made.status_code == 202, made.content
    image_id = made.json()["id"]
    shown = wait_ready(fetch, image_id)
    assert [row["id"] for row in client.get("/images").json()] == [image_id]

    original = client.get(f"/images/{image_id}/bytes")
    assert original["Content-Type"] == "image/png"
    original_bytes = body_of(original)
    assert picture(original_bytes) == "PNG"
    thumb = client.get(f"/images/{image_id}/bytes?variant=thumbnail")
    assert thumb["Content-Type"] == "image/webp"
    thumb_bytes = body_of(thumb)
    assert picture(thumb_bytes) == "WEBP"
    for key, expected in (("url", original_bytes), ("thumbnail_url", thumb_bytes)):
        assert shown[key].startswith(f"http://127.0.0.1:{_port}/files/")
        assert fetch(shown[key].removeprefix(f"http://127.0.0.1:{_port}")) == (200, expected)

    missing = fetch(f"/images/{image_id + 1000}")
    assert missing[0] == 404
    assert fetch(f"/images/{image_id}", rival) == missing
    assert fetch(f"/images/{image_id}/bytes", rival) == fetch(f"/images/{image_id + 1000}/bytes")
    assert rival.get("/images").json() == []
    link = shown["url"].removeprefix(f"http://127.0.0.1:{_port}")
    bad_link = fetch(link.replace("sig=", "sig=0"))
    assert bad_link[0] == 404
    assert fetch(link.split("?")[0]) == bad_link
    assert fetch(f"/images/{'9' * 30}") == missing  # an id past any integer column

    assert Client().get("/images").status_code == 422  # nobody
    assert Client(headers={"X-Team": "acme"}).get("/images").status_code == 422
    for body in ("{", '{"prompt": ""}', "[1]", '{"prompt": "x", "size": "9x9"}'):
        refused = client.post("/images", body, "application/json")
        assert refused.status_code == 422, (body, refused.content)
        assert refused.json()["code"] == "validation_error"


def test_real_wsgi_server_many_requests_at_once(django_app: tuple[ModuleType, int]) -> None:
    from django.core.wsgi import get_wsgi_application

    urls, port = django_app
    team_ids = teams(urls, *(f"wsgi-{n}" for n in range(4)))
    server = make_server(
        "127.0.0.1", port, get_wsgi_application(), ThreadingWSGIServer, QuietHandler
    )
    serving = threading.Thread(target=server.serve_forever, name="wsgi-test-server")
    serving.start()
    base = f"http://127.0.0.1:{port}"
    try:

        def call(path: str, team: int, body: dict[str, str] | None = None) -> tuple[int, bytes]:
            data = None if body is None else json.dumps(body).encode()
            request = Request(base + path, data=data, headers={"X-Team": str(team)})
            try:
                with urlopen(request, timeout=TIMEOUTS.http) as reply:
                    return reply.status, reply.read()
            except HTTPError as error:
                return error.code, error.read()

        def visitor(n: int) -> tuple[int, int, bytes]:
            """One browser: generates, waits, downloads through the signed link."""
            team = team_ids[n % len(team_ids)]
            status, body = call("/images", team, {"prompt": f"harbour {n}", "size": "256x256"})
            assert status == 202, body
            image_id = json.loads(body)["id"]
            shown = wait_ready(lambda path: call(path, team), image_id)
            status, signed = call(shown["url"].removeprefix(base), 0)
            assert status == 200
            assert call(f"/images/{image_id}/bytes", team) == (200, signed)
            return team, image_id, signed

        with ThreadPoolExecutor(AT_ONCE) as browsers:
            done = list(browsers.map(visitor, range(AT_ONCE)))
        for team, image_id, body in done:
            assert picture(body) == "PNG"
            listed = json.loads(call("/images", team)[1])
            assert image_id in {row["id"] for row in listed}
            assert all(r["id"] in {i for t, i, _ in done if t == team} for r in listed)
            other = team_ids[(team_ids.index(team) + 1) % len(team_ids)]
            assert call(f"/images/{image_id}", other)[0] == 404
    finally:
        server.shutdown()
        server.server_close()
        serving.join()
