"""Shared helpers of the connectors tests (imported by tests/test_connectors_*.py)."""

from __future__ import annotations

import json

from hotro.connectors.api.signing import signature_header


def inbound_payload(ext="crm-1", text="Xin chào", customer="cust-1", **extra) -> dict:
    return {"external_id": ext, "contact": {"name": "Lan", "external_id": customer}, "text": text, **extra}


def signed_post(client, inbox, secret, payload, *, connector="api", key=None, header=None):
    body = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
    return client.post(
        f"/hooks/{connector}/{key or inbox.public_key}/",
        data=body,
        content_type="application/json",
        headers={
            "X-Hotro-Signature": header if header is not None else signature_header(secret, body.encode())
        },
    )
