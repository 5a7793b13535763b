"""A local S3 for tests: moto's server in a thread, one per test session.

Use the ``moto_s3`` fixture from any test module by importing it (ruff sees the
fixture parameter as a redefinition of the import, hence the second ``noqa``)::

    from tests.support.moto_server import MotoS3, moto_s3  # noqa: F401

    async def test_upload(moto_s3: MotoS3) -> None:  # noqa: F811
        store = open_blob_store(moto_s3.url("some/prefix"))

While the session runs, the process environment holds fake AWS credentials
(``AWS_ACCESS_KEY_ID``...), ``AWS_DEFAULT_REGION`` and ``RANKION_S3_ENDPOINT_URL``,
so an ``s3://`` store, or a ``rankion`` subprocess started with ``env=moto_s3.env()``,
reaches moto without further options. Outside pytest, ``running_moto_s3()`` is the
same thing as a context manager (benchmarks, scripts).

Why not ``moto.server.ThreadedMotoServer``: moto answers some calls (multipart
uploads among them) with its own ``Server`` header on top of Werkzeug's, and aiohttp
(so aiobotocore, so s3fs) rejects a response with two (getmoto/moto#9930,
aio-libs/aiohttp#12297). The server here is the same Werkzeug set-up with moto's
header dropped and request logging off.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest
from attrs import frozen
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from rankion_fsspec import FsspecBlobStore, open_blob_store

__all__ = ["MotoS3", "moto_s3", "running_moto_s3"]

BUCKET = "rankion-test"
REGION = "us-east-1"
FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


@frozen
class MotoS3:
    """Where the running moto server is: its endpoint and the bucket made for the tests."""

    endpoint_url: str
    bucket: str
    region: str = REGION

    def url(self, prefix: str = "") -> str:
        """``s3://bucket/prefix``: a blob store URL inside the test bucket."""
        return f"s3://{self.bucket}/{prefix.strip('/')}".rstrip("/")

    def open(self, prefix: str = "", **options: Any) -> FsspecBlobStore:
        """A blob store under ``prefix`` in the test bucket, on this server."""
        return open_blob_store(self.url(prefix), endpoint_url=self.endpoint_url, **options)

    def env(self) -> dict[str, str]:
        """The variables a subprocess needs to reach this server (merge into ``os.environ``)."""
        return {**FAKE_ENV, "RANKION_S3_ENDPOINT_URL": self.endpoint_url}


@contextmanager
def running_moto_s3(bucket: str = BUCKET) -> Iterator[MotoS3]:
    """Start moto on 127.0.0.1 (a free port chosen by the OS), make ``bucket``, stop on exit.

    The caller sets the environment; the ``moto_s3`` fixture does.
    """
    server = make_server(
        "127.0.0.1",
        0,
        _without_server_header(DomainDispatcherApplication(create_backend_app)),
        threaded=True,
        request_handler=_QuietHandler,
    )
    thread = threading.Thread(target=server.serve_forever, name="moto-s3", daemon=True)
    thread.start()
    try:
        s3 = MotoS3(endpoint_url=f"http://127.0.0.1:{server.server_port}", bucket=bucket)
        _create_bucket(s3)
        yield s3
    finally:
        _stop(server, thread)


def _create_bucket(s3: MotoS3) -> None:
    client = boto3.client(
        "s3",
        endpoint_url=s3.endpoint_url,
        region_name=s3.region,
        aws_access_key_id=FAKE_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_ENV["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        client.create_bucket(Bucket=s3.bucket)
    finally:
        client.close()


def _stop(server: BaseWSGIServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _without_server_header(app: WsgiApp) -> WsgiApp:
    """Drop the app's ``Server`` header: Werkzeug sends one of its own."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            kept = [(name, value) for name, value in headers if name.lower() != "server"]
            return start_response(status, kept, *exc_info)

        return app(environ, start)

    return wrapped


class _QuietHandler(MotoRequestHandler):
    """Moto's request handler without a log line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@pytest.fixture(scope="session")
def moto_s3() -> Iterator[MotoS3]:
    """A moto S3 server with an empty bucket, and fake AWS credentials in the environment."""
    with pytest.MonkeyPatch.context() as patch, running_moto_s3() as s3:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            patch.delenv(name, raising=False)
        for name, value in s3.env().items():
            patch.setenv(name, value)
        yield s3
