"""What the Python client tells a person when something goes wrong."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import rankion_client
from rankion_client import ApiError, Client, ServerUnreachable, errors
from rankion_client.errors import ValidationFailed, error_for
from tests.e2e.support import free_port


def test_str_of_an_api_error_carries_its_details() -> None:
    envelope = {
        "error": {
            "code": "validation_error",
            "message": "prompt: too long",
            "details": {"prompt": "at most 32000 characters", "tags[3]": "empty"},
        }
    }
    error = error_for(422, envelope, "req-1", None)
    assert isinstance(error, ValidationFailed)
    assert str(error) == (
        "422 validation_error: prompt: too long (prompt: at most 32000 characters; tags[3]: empty)"
    )


def test_str_without_details_is_the_status_code_and_message() -> None:
    error = ApiError(404, "not_found", "image not found")
    assert str(error) == "404 not_found: image not found"


async def test_an_unreachable_server_says_so_and_is_a_connection_error() -> None:
    base = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client = Client(base, "rk_x", retries=0)
    try:
        with pytest.raises(ServerUnreachable) as caught:
            await client.health()
    finally:
        await client.close()
    assert isinstance(caught.value, ConnectionError)
    assert f"is the server running at {base}?" in str(caught.value)


SCRIPT = textwrap.dedent(
    """
    import http.server, json, threading
    from rankion_client import SyncClient

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"data": {"status": "ok"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def use_it_once():  # the client is dropped, never closed
        client = SyncClient(f"http://127.0.0.1:{server.server_port}", "rk_x")
        print(client.health().status)

    use_it_once()
    """
)


def test_a_sync_client_never_closed_closes_itself_at_exit() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert "Unclosed" not in done.stderr, done.stderr


def test_str_does_not_repeat_a_detail_the_message_already_says() -> None:
    """One bad field: the server's message is that field's detail, said once."""
    why = "model procedural-v1 takes size auto, 256x256"
    envelope = {
        "error": {"code": "validation_error", "message": f"size: {why}", "details": {"size": why}}
    }
    error = error_for(422, envelope, None, None)
    assert str(error) == f"422 validation_error: size: {why}"
    assert error.details == {"size": why}


def test_every_error_class_is_importable_from_the_errors_module() -> None:
    exported = set(errors.__all__)
    assert set(rankion_client.__all__) - {"Client", "SyncClient", "verify_signature"} <= exported
    assert all(hasattr(errors, name) for name in exported)
