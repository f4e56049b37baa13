"""Posting agent replies to the customer's webhook URL (through the shared ``connectors.http``).

Receiver contract: 2xx acknowledges; 408, 429 and 5xx (and timeouts) are retried, honouring
``Retry-After``; any other status is permanent (the inbox is flagged for an admin).
"""

from __future__ import annotations

import json
from email.utils import parsedate_to_datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from .. import http
from ..base import ConnectorError
from .signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature_header, verify_signature

__all__ = ["post_webhook", "verify_signature"]

RETRYABLE = {408, 425, 429}


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, (parsedate_to_datetime(value) - timezone.now()).total_seconds())
    except (TypeError, ValueError):
        return None


def post_webhook(url: str, secret: str, delivery_id: str, event: str, body: dict) -> None:
    """Sign and POST one event; returns on 2xx, raises ``ConnectorError`` otherwise."""
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: signature_header(secret, content),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: event,
    }
    response = http.post(url, content=content, headers=headers)
    status = response.status_code
    if 200 <= status < 300:
        return
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status >= 500 or status in RETRYABLE:
        raise ConnectorError(
            _("The webhook receiver answered %(status)s; will retry.") % {"status": status},
            code=f"http_{status}",
            retry_after=retry_after,
        )
    raise ConnectorError(
        _(
            "The webhook receiver refused the message (HTTP %(status)s). Check the webhook URL and the "
            "receiver, then retry the failed messages."
        )
        % {"status": status},
        permanent=True,
        code=f"http_{status}",
    )
