"""``examples/django_app.py``: synchronous Django views calling the core through
``SyncRankion`` on SQLite and a blob folder, the worker pool on the facade's loop.
Driven twice, as Django runs in production and in its own tests: with Django's test
client, and through a real WSGI server (the standard library's, threaded) over HTTP
with many requests at once. Another team's id gets the 404 a missing one gets.

The example configures Django for the process it is imported in, so each test runs
it in a child process of its own (``DRIVER`` below)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.e2e.support import TIMEOUTS, clean_env

pytest.importorskip("django", reason="the Django example needs the dev extras")

ROOT = Path(__file__).resolve().parents[2]

COMMON = """
import io, json, sys, time
sys.path.insert(0, ROOT)
from PIL import Image
import examples.django_app as example

def wait_ready(get, image_id, team):
    for _ in range(600):
        image = json.loads(get(f"/images/{image_id}", team))
        assert image["status"] != "failed", image
        if image["status"] == "ready":
            return image
        time.sleep(0.1)
    raise AssertionError("not ready in 60 s")

NOT_FOUND = {"error": {"code": "not_found", "message": "image not found"}}
"""

TEST_CLIENT = """
from django.test import Client
client = Client()

def post(path, body, team=None):
    headers = {"X-Team": str(team)} if team else {}
    return client.post(path, json.dumps(body), content_type="application/json", headers=headers)

def get(path, team):
    return client.get(path, headers={"X-Team": str(team)}).content

acme = post("/teams", {"name": "acme", "credits": 50}).json()["id"]
globex = post("/teams", {"name": "globex", "credits": 50}).json()["id"]
assert post("/teams", {"name": "initech"}).status_code == 201  # 100 credits, as in FastAPI
for bad in ({"credits": 5}, {"name": "x", "credits": "5"}, [1]):
    assert post("/teams", bad).status_code == 422, bad
for path in ("/teams", "/images"):  # not JSON: a 422, not a 500
    answer = client.post(path, b"{", content_type="application/json", headers={"X-Team": "1"})
    assert answer.status_code == 422, (path, answer.content)
queued = post("/images", {"prompt": "a lighthouse"}, acme)
assert queued.status_code == 202, queued.content
image_id = queued.json()["image_id"]
image = wait_ready(get, image_id, acme)
listed = client.get("/images?q=lighthouse", headers={"X-Team": str(acme)}).json()
assert (listed["total"], listed["items"][0]["id"]) == (1, image_id), listed
original = client.get(f"/images/{image_id}/original", headers={"X-Team": str(acme)})
assert original["Content-Type"] == "image/png"
png = b"".join(original.streaming_content)
assert Image.open(io.BytesIO(png)).format == "PNG"
thumb = client.get(image["thumbnail_url"].removeprefix(example.PUBLIC_URL))
assert thumb.status_code == 200 and thumb["Content-Type"] == "image/webp"
for team, path in ((globex, f"/images/{image_id}"), (acme, f"/images/{image_id + 9}/original")):
    answer = client.get(path, headers={"X-Team": str(team)})
    assert (answer.status_code, answer.json()) == (404, NOT_FOUND), path
for team in ("é", "0", str(2**63), "0" * 30 + "1" + "9" * 20):
    bad = client.get("/images", headers={"X-Team": team})
    assert bad.status_code == 422, (team, bad.content)
for path in (f"/images/{2**63}", f"/images/{10**30}/original"):  # bounded first: no image
    assert client.get(path, headers={"X-Team": str(acme)}).status_code == 404, path
forged = client.get(image["url"].removeprefix(example.PUBLIC_URL).replace("sig=", "sig=0"))
assert forged.status_code == 404
example.rankion.close()
assert not example.rankion.thread.is_alive()
print("ok")
"""

WSGI = """
import threading, urllib.request, urllib.error
from concurrent.futures import ThreadPoolExecutor
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

class Threading(ThreadingMixIn, WSGIServer):
    daemon_threads = True

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

server = make_server("127.0.0.1", 0, example.application, Threading, Quiet)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = f"http://127.0.0.1:{server.server_port}"

def request(path, team=None, body=None):
    headers = {"X-Team": str(team)} if team else {}
    data = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path, data, headers)) as r:
            return r.status, r.headers.get("Content-Type"), r.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type"), error.read()

def get(path, team):
    return request(path, team)[2]

acme = json.loads(request("/teams", body={"name": "acme", "credits": 50})[2])["id"]
globex = json.loads(request("/teams", body={"name": "globex", "credits": 50})[2])["id"]
queued = [request("/images", acme, {"prompt": f"pier {n}"})[2] for n in range(3)]
ids = [json.loads(body)["image_id"] for body in queued]
images = [wait_ready(get, image_id, acme) for image_id in ids]

def one(n):
    image = images[n % 3]
    kind = n % 4
    if kind == 0:
        status, kind_, body = request("/images", acme)
        return status == 200 and json.loads(body)["total"] == 3
    if kind == 1:
        status, kind_, body = request(f"/images/{image['id']}/original", acme)
        return status == 200 and kind_ == "image/png" and body.startswith(b"\\x89PNG")
    if kind == 2:
        status, kind_, body = request(image["thumbnail_url"].removeprefix(example.PUBLIC_URL))
        return status == 200 and Image.open(io.BytesIO(body)).format == "WEBP"
    status, kind_, body = request(f"/images/{image['id']}", globex)
    return status == 404 and json.loads(body) == NOT_FOUND

started = time.perf_counter()
with ThreadPoolExecutor(16) as threads:
    results = list(threads.map(one, range(400)))
elapsed = time.perf_counter() - started
assert all(results), results.count(False)
server.shutdown()
example.rankion.close()
alive = [t.name for t in threading.enumerate() if t.name == "rankion-loop"]
assert not alive, alive
print(f"ok: 400 requests from 16 threads in {elapsed:.2f} s")
"""


def drive(script: str, tmp_path: Path) -> str:
    url = "http://testserver"  # the links are followed by path
    code = f"ROOT = {str(ROOT)!r}\n" + textwrap.dedent(COMMON) + textwrap.dedent(script)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUTS.script,
        env=clean_env({"EXAMPLE_DATA": str(tmp_path / "data"), "EXAMPLE_URL": url}),
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_django_views_through_the_test_client(tmp_path: Path) -> None:
    assert drive(TEST_CLIENT, tmp_path).strip() == "ok"


def test_django_under_a_threaded_wsgi_server_with_16_requests_at_once(tmp_path: Path) -> None:
    out = drive(WSGI, tmp_path)
    assert out.startswith("ok"), out
    print(out)
