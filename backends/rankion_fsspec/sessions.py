"""botocore sessions for the S3 flavour, made off the event loop and made cheap.

Creating an S3 client parses the S3 model, megabytes of JSON (~0.3 s of CPU). Two
measures keep that away from the event loop: the sessions are built in a worker
thread with the model already parsed (s3fs uses a session it is given instead of
making its own), and every session of the process shares one botocore data loader,
so the model is parsed once per process, not once per store. The loader is made
from ``AWS_DATA_PATH`` as it is on first use.

The synchronous client is only for presigning: the port's ``presign`` is
synchronous, but aiobotocore's ``generate_presigned_url`` is a coroutine (so is
s3fs's ``sign`` underneath). Signing is pure computation, so a plain botocore client
set up like the s3fs one (endpoint, region, credentials, addressing style) does it
without any request.
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["aio_session", "signing_client"]


@functools.cache
def _shared_loader() -> Any:
    from botocore.loaders import create_loader

    loader = create_loader()
    # Called exactly as botocore's client factory calls them, so its loader cache hits.
    for type_name in ("service-2", "endpoint-rule-set-1"):
        loader.load_service_model("s3", type_name, api_version=None)
    for name in ("endpoints", "partitions", "sdk-default-configuration", "_retry"):
        loader.load_data(name)
    return loader


def aio_session(session_options: dict[str, Any]) -> Any:
    """An aiobotocore session on the shared loader (blocking: call it in a thread)."""
    from aiobotocore.session import AioSession

    session = AioSession(**session_options)
    session.register_component("data_loader", _shared_loader())
    return session


def signing_client(fs: Any) -> Any:
    """A synchronous botocore S3 client configured like the s3fs filesystem ``fs``
    (blocking the first time: call it in a thread)."""
    import botocore.session
    from botocore.config import Config

    client_kwargs = {
        "endpoint_url": fs.endpoint_url,
        "aws_access_key_id": fs.key,
        "aws_secret_access_key": fs.secret,
        "aws_session_token": fs.token,
        **fs.client_kwargs,
    }
    config = Config(signature_version="s3v4", s3=fs.config_kwargs.get("s3"))
    session = botocore.session.Session()
    session.register_component("data_loader", _shared_loader())
    return session.create_client("s3", config=config, **client_kwargs)
