"""Pure webhook rules: URL checks, signatures, retry delays and event bodies.

Every delivery is signed twice, with the same secret:

- **Standard Webhooks** (what the ``standardwebhooks`` package, Svix and OpenAI's
  helpers verify): ``webhook-id`` (the delivery id, the same on every retry),
  ``webhook-timestamp`` (unix seconds) and ``webhook-signature: v1,<base64>``, the
  HMAC-SHA256 over ``f"{id}.{timestamp}.{body}"`` keyed with the base64 part of the
  ``whsec_…`` secret;
- **Rankion-Signature** ``t=<unix seconds>,v1=<hex>``: HMAC-SHA256 keyed with the whole
  secret string over ``f"{t}.{body}"``, kept for receivers written against it.

The timestamp is part of what is signed in both, so a receiver that rejects old
timestamps cannot be replayed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, tzinfo
from typing import Any

from attrs import define

from .. import outbound
from ..errors import Invalid
from ..models import CalendarEvent, Export, Image
from ..webhooks import WebhookEvent
from .calendar import public_event
from .timeutil import iso_z

SIGNATURE_HEADER = "Rankion-Signature"
EVENT_HEADER = "Rankion-Event"
DELIVERY_HEADER = "Rankion-Delivery"
STANDARD_ID = "webhook-id"
STANDARD_TIMESTAMP = "webhook-timestamp"
STANDARD_SIGNATURE = "webhook-signature"
URL_MAX = outbound.URL_MAX
DESCRIPTION_MAX = 200
SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300


@define(frozen=True)
class RetryPolicy:
    """How deliveries are retried: ``backoff * factor**(attempt-1)``, capped, jittered."""

    backoff: timedelta = timedelta(seconds=10)
    factor: float = 3.0
    cap: timedelta = timedelta(hours=1)
    max_attempts: int = 8
    allow_private: bool = False

    def delay(self, attempt: int, jitter: float = 0.0) -> timedelta:
        """The wait after failed ``attempt`` (1-based); ``jitter`` in [0, 1) adds ≤ 25 %."""
        base = self.backoff.total_seconds() * self.factor ** max(0, attempt - 1)
        seconds = min(base, self.cap.total_seconds()) * (1.0 + 0.25 * jitter)
        return timedelta(seconds=seconds)


def new_secret() -> str:
    """``whsec_`` and 32 random bytes in standard base64, the Standard Webhooks form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def check_events(events: Iterable[str]) -> list[str]:
    """The events, de-duplicated in order; unknown names are ``Invalid``."""
    known = {e.value for e in WebhookEvent}
    wanted = list(dict.fromkeys(events))
    if not wanted:
        raise Invalid("subscribe to at least one event", details={"events": "must not be empty"})
    unknown = [e for e in wanted if e not in known]
    if unknown:
        allowed = ", ".join(sorted(known))
        raise Invalid(
            f"unknown events: {', '.join(unknown)}", details={"events": f"one of {allowed}"}
        )
    return wanted


def check_url(url: str, *, allow_private: bool) -> str:
    """A deliverable URL by its form (``rankion_core.outbound``): http(s), a host, no
    credentials; no private address in any spelling unless allowed. Hostnames are
    checked again at every send, on each address actually connected to."""
    bad = outbound.url_problem(url, allow_private=allow_private)
    if bad:
        raise Invalid(f"the webhook URL {bad}", details={"url": bad})
    return url


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The value of the ``Rankion-Signature`` header."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def standard_key(secret: str) -> bytes | None:
    """The HMAC key of a ``whsec_`` secret as Standard Webhooks libraries derive it (the
    base64 after the prefix); None for a secret that is not base64 (made by a version
    before these signatures: such a webhook gets ``Rankion-Signature`` only)."""
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX) + "==", validate=False)
    except binascii.Error:
        return None
    return key or None


def standard_signature(key: bytes, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The value of ``webhook-signature``: ``v1,<base64 HMAC-SHA256>``."""
    mac = hmac.new(key, f"{delivery_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def verify_standard(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """Whether the Standard Webhooks headers sign ``body`` with ``secret`` in time."""
    sent = {name.lower(): value for name, value in headers.items()}
    key = standard_key(secret)
    delivery_id, stamp = sent.get(STANDARD_ID, ""), sent.get(STANDARD_TIMESTAMP, "")
    if key is None or not delivery_id or not (stamp.isascii() and stamp.isdigit()):
        return False
    if abs(now - int(stamp)) > tolerance:
        return False
    expected = standard_signature(key, delivery_id, int(stamp), body).encode()
    offered = sent.get(STANDARD_SIGNATURE, "").split(" ")
    return any(hmac.compare_digest(expected, one.encode()) for one in offered)


def verify(
    secret: str, header: str, body: bytes, now: float, tolerance: float = DEFAULT_TOLERANCE
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds."""
    fields = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


def body(delivery_id: int, event: str, occurred_at: str, data: Mapping[str, Any]) -> bytes:
    """The JSON body; the same bytes on every retry (keys sorted, no spaces)."""
    doc = {"id": delivery_id, "type": event, "created_at": occurred_at, "data": data}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(
    secret: str, event: str, delivery_id: int, body: bytes, now: int
) -> dict[str, str]:
    """Every header of one try: the event, the delivery, and both signatures."""
    sent = {
        "Content-Type": "application/json",
        "User-Agent": "rankion-webhooks/1",
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery_id),
        SIGNATURE_HEADER: sign(secret, body, now),
    }
    key = standard_key(secret)
    if key is not None:
        sent[STANDARD_ID] = str(delivery_id)
        sent[STANDARD_TIMESTAMP] = str(now)
        sent[STANDARD_SIGNATURE] = standard_signature(key, str(delivery_id), now, body)
    return sent


def _iso(value: datetime | None) -> str | None:
    return iso_z(value) if value is not None else None


def image_data(image: Image, job_id: int) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "image": {
            "id": image.id,
            "project_id": image.project_id,
            "parent_id": image.parent_id,
            "root_id": image.root_id,
            "title": image.title,
            "prompt": image.prompt,
            "model": image.model,
            "processing_status": image.processing_status.value,
            "error": image.error,
            "width": image.width,
            "height": image.height,
            "mime_type": image.mime_type,
            "created_at": iso_z(image.created_at),
        },
    }


def export_data(export: Export, download_url: str | None) -> dict[str, Any]:
    return {
        "job_id": export.job_id,
        "status": export.status.value,
        "size_bytes": export.size_bytes,
        "skipped_ids": list(export.skipped_ids),
        "download_url": download_url,
        "expires_at": _iso(export.expires_at),
    }


def event_data(event: CalendarEvent, zone: tzinfo, action: str) -> dict[str, Any]:
    """``{action, event}``: the event as the API answers it (``calendar.public_event``),
    in its project's ``zone`` at the change; for ``deleted``, as it was."""
    return {"action": action, "event": public_event(event, zone)}
