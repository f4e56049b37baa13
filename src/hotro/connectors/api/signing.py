"""Webhook signatures of the API channel (both directions), documented in docs/channels/api.md.

Header: ``X-Hotro-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>``.
Several ``v1=`` values may appear (during a secret rotation); one matching is enough.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

SIGNATURE_HEADER = "X-Hotro-Signature"
DELIVERY_HEADER = "X-Hotro-Delivery"
EVENT_HEADER = "X-Hotro-Event"
DEFAULT_TOLERANCE = 300


class SignatureError(ValueError):
    """The signature header is missing, malformed, stale or does not match."""


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(int(timestamp)).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},v1={compute_signature(secret, t, body)}"


def verify_signature(
    secret: str,
    header: str | None,
    body: bytes | str,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check an ``X-Hotro-Signature`` header against the raw body; returns the signed timestamp.

    Raises ``SignatureError`` if the header is missing or malformed, the timestamp is more than
    ``tolerance`` seconds away from ``now`` (replay protection), or no ``v1`` value matches."""
    if isinstance(body, str):
        body = body.encode()
    if not header:
        raise SignatureError("The X-Hotro-Signature header is missing.")
    timestamp, candidates = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1" and value:
            candidates.append(value.strip())
    if timestamp is None or not candidates:
        raise SignatureError("The X-Hotro-Signature header must look like t=<unix time>,v1=<hex>.")
    now = time.time() if now is None else now
    if tolerance and abs(now - timestamp) > tolerance:
        raise SignatureError("The signature timestamp is too old or in the future; check the clock.")
    expected = compute_signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("The signature does not match the body and secret.")
    return timestamp
