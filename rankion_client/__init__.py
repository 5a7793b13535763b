"""A typed Python client for the Rankion API (async ``Client``, blocking ``SyncClient``).

Request and answer classes are the server's own (``rankion_client.models``); errors are
``rankion_client.errors.ApiError`` subclasses carrying the contract's ``code``;
``verify_signature`` checks a webhook delivery. See docs/client.md.
"""

from __future__ import annotations

from .client import Client, SyncClient
from .errors import ApiError, ApiWarning, JobFailed, ServerUnreachable
from .webhooks import verify_signature

__all__ = [
    "ApiError",
    "ApiWarning",
    "Client",
    "JobFailed",
    "ServerUnreachable",
    "SyncClient",
    "verify_signature",
]
